// A websocketpp echo server for the end-to-end load benchmark (ws_load.cpp): one
// thread, every message sent back with its opcode, as websocketpp's own echo
// example does. websocketpp is Debian's libwebsocketpp-dev 0.8.2 over Boost.Asio.
//
//   herald_bench_ws_echo_websocketpp --port P
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

using server = websocketpp::server<websocketpp::config::asio>;

int main(int argc, char** argv) {
    unsigned short port = 9003;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--port") == 0) port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    server s;
    s.clear_access_channels(websocketpp::log::alevel::all);
    s.clear_error_channels(websocketpp::log::elevel::all);
    s.init_asio();
    s.set_reuse_addr(true);
    s.set_max_message_size(64 * 1024 * 1024);
    s.set_open_handler([&s](websocketpp::connection_hdl hdl) {
        boost::system::error_code ignored;
        s.get_con_from_hdl(hdl)->get_raw_socket().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    });
    s.set_message_handler([&s](websocketpp::connection_hdl hdl, server::message_ptr msg) {
        websocketpp::lib::error_code ec;
        s.send(hdl, msg->get_payload(), msg->get_opcode(), ec);
    });
    s.listen(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    s.start_accept();
    std::printf("websocketpp echo on http://127.0.0.1:%u/\n", port);
    std::fflush(stdout);
    s.run();
}
