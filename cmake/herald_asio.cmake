# Finds standalone Asio (header-only; Debian: libasio-dev) and defines `herald_asio_headers`'s
# dependency as an imported target `herald::asio_standalone`. Used at build time and by the
# installed herald-config.cmake.

if(NOT TARGET herald::asio_standalone)
  find_path(HERALD_ASIO_INCLUDE_DIR asio.hpp
    HINTS "${ASIO_ROOT}" ENV ASIO_ROOT
    PATH_SUFFIXES include
    DOC "Folder holding standalone Asio's asio.hpp")
  if(NOT HERALD_ASIO_INCLUDE_DIR AND HERALD_ASIO_OPTIONAL)
    return()  # an installed herald used for herald::core alone needs no Asio
  elseif(NOT HERALD_ASIO_INCLUDE_DIR)
    message(FATAL_ERROR "herald::asio needs standalone Asio: on Debian, apt-get install libasio-dev "
                        "(or set HERALD_ASIO_INCLUDE_DIR)")
  endif()
  find_package(Threads REQUIRED)
  # No compile definitions are passed on: Asio's own configuration is standalone under
  # C++11 and later (ASIO_STANDALONE is its default there), and herald compiles with or
  # without ASIO_NO_DEPRECATED. A definition forced on consumers would make their other
  # Asio code in the same program see different declarations (an ODR violation).
  add_library(herald::asio_standalone INTERFACE IMPORTED)
  set_target_properties(herald::asio_standalone PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${HERALD_ASIO_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
