"""Python's `websockets` (Debian's python3-websockets) against herald's
websocket_echo_server: every payload length form, fragmented messages, ping/pong,
close codes.

    python3 websockets_echo_test.py <websocket_echo_server binary>
"""
import asyncio
import re
import subprocess
import sys

import websockets


async def start(binary):
    proc = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, text=True)
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


async def main():
    proc, uri = await start(sys.argv[1])
    passed = failed = 0
    try:
        for case in [sizes, fragments, ping, close_codes]:
            try:
                await asyncio.wait_for(case(uri), 30)
                print("ok  ", case.__name__)
                passed += 1
            except Exception as e:  # noqa: BLE001 - report every failure and go on
                print("FAIL", case.__name__, repr(e))
                failed += 1
    finally:
        proc.terminate()
        proc.wait()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


sys.exit(asyncio.run(main()))
