// Self-signed certificates for the TLS tests, made by the openssl command (as a
// user would make one for localhost) in a folder of their own.
#ifndef HERALD_TESTS_SUPPORT_CERTIFICATES_HPP
#define HERALD_TESTS_SUPPORT_CERTIFICATES_HPP

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace herald::test_support {

struct certificate {
    std::string cert, key;  // PEM files; the certificate is its own authority
};

// A P-256 key and a certificate for `names` (a subjectAltName list such as
// "DNS:localhost,IP:127.0.0.1"), valid for a day.
inline certificate make_certificate(const std::string& label, const std::string& names) {
    const auto dir = std::filesystem::temp_directory_path() / ("herald-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    certificate c{(dir / (label + "-cert.pem")).string(), (dir / (label + "-key.pem")).string()};
    const std::string command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                                "-subj /CN=herald-test -addext subjectAltName=" + names + " -keyout " + c.key +
                                " -out " + c.cert + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed: " + command);
    return c;
}

// The certificate for localhost and 127.0.0.1 that most tests use.
inline const certificate& localhost_certificate() {
    static const certificate c = make_certificate("localhost", "DNS:localhost,IP:127.0.0.1");
    return c;
}

}  // namespace herald::test_support

#endif
