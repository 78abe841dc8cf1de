"""Python's `websockets` (Debian's python3-websockets) against herald's
websocket_echo_server: every payload length form, fragmented messages, ping/pong,
close codes; then permessage-deflate (RFC 7692) against the server with it on and
with context takeover, for the client's default offer and offers that ask for
small windows or no context takeover, compressed in both directions; then over
TLS (--cert/--key with a certificate the test makes): wss:// with that certificate
trusted, compressed, and refused by a client that does not trust it.

    python3 websockets_echo_test.py <websocket_echo_server binary>
"""
import asyncio
import os
import re
import ssl
import subprocess
import sys
import tempfile

import websockets
from websockets.extensions import permessage_deflate as pmd


async def start(binary, *args):
    proc = subprocess.Popen([binary, "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)/", line).group(1))
    return proc, f"ws://127.0.0.1:{port}/echo"


async def sizes(uri):
    async with websockets.connect(uri, max_size=None) as ws:
        for size in [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]:
            data = bytes((i * 7) % 256 for i in range(size))
            await ws.send(data)
            assert await ws.recv() == data, f"binary of {size} bytes"
            text = "ü" * (size // 2) + "x" * (size % 2)
            await ws.send(text)
            assert await ws.recv() == text, f"text of {size} bytes"


async def fragments(uri):
    async with websockets.connect(uri) as ws:
        await ws.send(["frag", "men", "ted ✓"])  # an iterable goes out as fragments
        assert await ws.recv() == "fragmented ✓"
        await ws.send([b"\x00\x01", b"\x02"])
        assert await ws.recv() == b"\x00\x01\x02"


async def ping(uri):
    async with websockets.connect(uri) as ws:
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)


async def close_codes(uri):
    for code in [1000, 1001, 1003, 1011, 3000, 4999]:
        ws = await websockets.connect(uri)
        await ws.close(code=code, reason=f"reason {code}")
        assert ws.close_code == code, (code, ws.close_code)


# Frames the client received with RSV1 set: the server compressed them.
compressed_frames = 0
_decode = pmd.PerMessageDeflate.decode


def _counting_decode(self, frame, *, max_size=None):
    global compressed_frames
    if frame.rsv1:
        compressed_frames += 1
    return _decode(self, frame, max_size=max_size)


pmd.PerMessageDeflate.decode = _counting_decode

# (name, the client's offer, what the agreement must be for server modes on / takeover)
OFFERS = [
    ("default offer", pmd.ClientPerMessageDeflateFactory(client_max_window_bits=True), {}),
    ("small windows", pmd.ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=9),
     {"remote_max_window_bits": 10, "local_max_window_bits": 9}),
    ("no context takeover", pmd.ClientPerMessageDeflateFactory(server_no_context_takeover=True,
                                                              client_no_context_takeover=True),
     {"remote_no_context_takeover": True, "local_no_context_takeover": True}),
]


def json_text(n):
    return "[" + ",".join(f'{{"symbol":"HRLD","price":{100 + i % 17},"volume":{i * 31}}}' for i in range(n)) + "]"


async def deflate(uri, mode, offer, expected):
    global compressed_frames
    compressed_frames = 0
    async with websockets.connect(uri, extensions=[offer], compression=None, max_size=None) as ws:
        assert len(ws.extensions) == 1, ws.extensions
        ext = ws.extensions[0]
        # herald's `on`: each side starts every message afresh; `takeover`: only if asked.
        takeover_off = mode == "on"
        assert ext.remote_no_context_takeover == expected.get("remote_no_context_takeover", takeover_off), vars(ext)
        assert ext.local_no_context_takeover == expected.get("local_no_context_takeover", takeover_off), vars(ext)
        assert ext.remote_max_window_bits == expected.get("remote_max_window_bits", 15), vars(ext)
        assert ext.local_max_window_bits == expected.get("local_max_window_bits", 15), vars(ext)
        messages = [json_text(1), json_text(50), json_text(50), "", "ü" * 70000, json_text(20000),
                    bytes(100000), bytes((i * 7) % 256 for i in range(3000))]
        for m in messages:
            await ws.send(m)
            assert await ws.recv() == m, f"a message of {len(m)}"
        await ws.send([json_text(30), json_text(30), "ünd ✓"])  # fragments of one compressed message
        assert await ws.recv() == json_text(30) * 2 + "ünd ✓"
        assert compressed_frames >= 6, compressed_frames


async def run(cases):
    passed = failed = 0
    for name, case in cases:
        try:
            await asyncio.wait_for(case(), 60)
            print("ok  ", name)
            passed += 1
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            print("FAIL", name, repr(e))
            failed += 1
    return passed, failed


async def main():
    passed = failed = 0
    proc, uri = await start(sys.argv[1])
    try:
        p, f = await run([(c.__name__, lambda c=c: c(uri)) for c in [sizes, fragments, ping, close_codes]])
        # An offer to a server that does not compress is declined.
        async def declined():
            async with websockets.connect(uri) as ws:
                assert ws.extensions == [], ws.extensions
                await ws.send(json_text(10))
                assert await ws.recv() == json_text(10)
        p2, f2 = await run([("deflate declined when off", declined)])
        passed, failed = p + p2, f + f2
    finally:
        proc.terminate()
        proc.wait()
    for mode in ["on", "takeover"]:
        proc, uri = await start(sys.argv[1], "--deflate", mode)
        try:
            cases = [(f"deflate {mode}, {name}", lambda o=offer, e=expected, m=mode: deflate(uri, m, o, e))
                     for name, offer, expected in OFFERS]
            cases += [(f"deflate {mode}, {c.__name__}", lambda c=c: c(uri)) for c in [sizes, fragments]]
            p, f = await run(cases)
            passed, failed = passed + p, failed + f
        finally:
            proc.terminate()
            proc.wait()
    with tempfile.TemporaryDirectory() as folder:
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-days", "1", "-subj", "/CN=herald-test", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        proc, uri = await start(sys.argv[1], "--cert", cert, "--key", key, "--deflate", "on")
        secure = uri.replace("ws://127.0.0.1", "wss://localhost")
        trusted = ssl.create_default_context(cafile=cert)

        async def tls_echo():
            async with websockets.connect(secure, ssl=trusted, max_size=None) as ws:
                assert ws.extensions, "permessage-deflate over TLS"
                for m in [json_text(100), "ü" * 70000, bytes(200000)]:
                    await ws.send(m)
                    assert await ws.recv() == m

        async def tls_refused():
            try:
                async with websockets.connect(secure, ssl=ssl.create_default_context()):
                    raise AssertionError("a certificate nobody trusts was accepted")
            except ssl.SSLCertVerificationError:
                pass

        try:
            p, f = await run([("tls: wss:// with the certificate trusted", tls_echo),
                              ("tls: refused without it", tls_refused)])
            passed, failed = passed + p, failed + f
        finally:
            proc.terminate()
            proc.wait()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


sys.exit(asyncio.run(main()))
