// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_HPP
#define HERALD_ASIO_HUB_HPP

// The hub: one stream per topic through every transport (docs/hub.md).
//
//   hub/hub.hpp hub/topic.hpp hub/wire.hpp hub/route.hpp hub/sequencer.hpp
//                                   the sans-I/O stream core: ids, history, resume,
//                                   wire forms, route decisions
//   asio/hub/service.hpp            the core for many threads, with subscribers
//   asio/hub/broker.hpp             interfaces: a broker numbering for many hubs, a history source
//   asio/hub/in_process_broker.hpp  the hubs of one process as one
//   asio/hub/{sse,websocket,poll}.hpp  one adapter per transport
//   asio/hub/routes.hpp             the HTTP routes carrying it all

#include <herald/asio/hub/in_process_broker.hpp>
#include <herald/asio/hub/routes.hpp>
#include <herald/asio/hub/service.hpp>

#endif
