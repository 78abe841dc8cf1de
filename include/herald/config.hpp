// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_CONFIG_HPP
#define HERALD_CONFIG_HPP

#define HERALD_VERSION_MAJOR 0
#define HERALD_VERSION_MINOR 1
#define HERALD_VERSION_PATCH 0
#define HERALD_VERSION (HERALD_VERSION_MAJOR * 10000 + HERALD_VERSION_MINOR * 100 + HERALD_VERSION_PATCH)

#if __cplusplus < 202002L && !defined(_MSVC_LANG)
#error "herald needs C++20"
#endif

// Branch hints for the hot paths (parsers, masking). Plain C++20 attributes.
#define HERALD_LIKELY [[likely]]
#define HERALD_UNLIKELY [[unlikely]]

#endif
