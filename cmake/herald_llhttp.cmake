# Finds llhttp, or builds it from the generated C sources Debian's node-llhttp ships.
#
# Result: a target `llhttp::llhttp`, and HERALD_LLHTTP_BUILT set to ON when herald
# compiled llhttp itself (it is then installed and exported with herald).

set(HERALD_LLHTTP_SOURCE_DIR "/usr/share/llhttp" CACHE PATH
    "Folder with llhttp's generated api.c, http.c and llhttp.c (used when find_package(llhttp) fails)")
set(HERALD_LLHTTP_INCLUDE_DIR "/usr/share/include/llhttp" CACHE PATH
    "Folder with llhttp.h matching HERALD_LLHTTP_SOURCE_DIR")

set(HERALD_LLHTTP_BUILT OFF)
if(NOT TARGET llhttp::llhttp)
  find_package(llhttp CONFIG QUIET)
  if(TARGET llhttp::llhttp_static AND NOT TARGET llhttp::llhttp)
    add_library(llhttp::llhttp ALIAS llhttp::llhttp_static)
  elseif(TARGET llhttp::llhttp_shared AND NOT TARGET llhttp::llhttp)
    add_library(llhttp::llhttp ALIAS llhttp::llhttp_shared)
  endif()
endif()

if(NOT TARGET llhttp::llhttp)
  foreach(source api.c http.c llhttp.c)
    if(NOT EXISTS "${HERALD_LLHTTP_SOURCE_DIR}/${source}")
      message(FATAL_ERROR
        "herald needs llhttp: no find_package(llhttp) and no ${HERALD_LLHTTP_SOURCE_DIR}/${source}.\n"
        "On Debian: apt-get install node-llhttp (it ships llhttp's C sources), "
        "or set HERALD_LLHTTP_SOURCE_DIR and HERALD_LLHTTP_INCLUDE_DIR.")
    endif()
  endforeach()
  if(NOT EXISTS "${HERALD_LLHTTP_INCLUDE_DIR}/llhttp.h")
    message(FATAL_ERROR "herald needs llhttp.h in HERALD_LLHTTP_INCLUDE_DIR (${HERALD_LLHTTP_INCLUDE_DIR}); "
                        "on Debian: apt-get install node-llhttp")
  endif()
  enable_language(C)
  add_library(herald_llhttp STATIC
    "${HERALD_LLHTTP_SOURCE_DIR}/api.c"
    "${HERALD_LLHTTP_SOURCE_DIR}/http.c"
    "${HERALD_LLHTTP_SOURCE_DIR}/llhttp.c")
  set_target_properties(herald_llhttp PROPERTIES
    EXPORT_NAME llhttp POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
  # Generated code: its warnings are not ours to fix.
  target_compile_options(herald_llhttp PRIVATE $<$<C_COMPILER_ID:GNU,Clang>:-w>)
  target_include_directories(herald_llhttp PUBLIC
    "$<BUILD_INTERFACE:${HERALD_LLHTTP_INCLUDE_DIR}>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/herald/llhttp>")
  add_library(llhttp::llhttp ALIAS herald_llhttp)
  set(HERALD_LLHTTP_BUILT ON)
endif()
