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

// Error categories are compared by address (std::error_category::operator==), and
// each lives in a function-local static of an inline function. In a program of
// several shared libraries built with -fvisibility=hidden, such a static exists once
// per library, so the same herald error compares unequal across them. Default
// visibility on the category accessors makes the ELF dynamic linker bind every
// library to one object (a unique global symbol). Windows DLLs have no such binding:
// there, compare errors within one module, or by category name() and value().
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define HERALD_VISIBLE __attribute__((visibility("default")))
#else
#define HERALD_VISIBLE
#endif

// Branch hints for the hot paths (parsers, masking). Plain C++20 attributes.
#define HERALD_LIKELY [[likely]]
#define HERALD_UNLIKELY [[unlikely]]

#endif
