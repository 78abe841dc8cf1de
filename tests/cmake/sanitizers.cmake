# Builds herald's test binaries with sanitizers in a build of their own and runs
# them (DESIGN.md: the suite also runs under sanitizers). Called by ctest with
# SOURCE_DIR, WORK_DIR, ARGS (generator and compilers), COMPILER (Clang or GNU: the
# one ARGS names; clang when it is installed) and KIND:
#   address    AddressSanitizer and UndefinedBehaviorSanitizer: core, Asio and example tests
#              (and the Redis tests with WITH_REDIS, the TLS tests with WITH_TLS)
#   thread     ThreadSanitizer: the Asio, example and Redis test files whose cases run
#              threads (HERALD_TEST_THREADED_ONLY; the core ones have none); a race report
#              fails the run.
if(KIND STREQUAL "address")
  set(flags "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer")
  if(COMPILER STREQUAL "Clang")
    # clang 14's -fsanitize=function puts data before functions that its coroutine
    # splitting cannot place ("Cannot represent a difference across sections");
    # GCC has no such check.
    string(APPEND flags " -fno-sanitize=function")
  endif()
  set(binaries herald_core_tests herald_asio_tests herald_example_tests)
  set(name "ASan+UBSan")
  # UBSan's null and alignment checks instrument every member access: at -O0 they
  # made a quarter of the compile time of the Asio-layer tests (websocket_test.cpp
  # 29.0 -> 21.7 s, clang 14), whose code reinterprets no bytes and whose null
  # dereference is ASan's report anyway. The core tests, where the parsers read the
  # wire, keep them (HERALD_CORE_TEST_OPTIONS), as do the fuzz targets.
  set(cxx_only " -fno-sanitize=null,alignment")
  set(core_options -DHERALD_CORE_TEST_OPTIONS=-fsanitize=null,alignment)
elseif(KIND STREQUAL "thread")
  set(flags "-fsanitize=thread -fno-omit-frame-pointer")
  if(COMPILER STREQUAL "GNU")
    # GCC warns that TSan cannot see the atomic_thread_fence Asio uses; herald itself
    # uses none.
    string(APPEND flags " -Wno-tsan")
  endif()
  set(binaries herald_asio_tests herald_example_tests)
  set(only_threaded -DHERALD_TEST_THREADED_ONLY=ON)
  set(name "ThreadSanitizer")
  # tsan.supp: the reports TSan cannot judge (uninstrumented libstdc++), each explained there.
  set(ENV{TSAN_OPTIONS} "exitcode=66 second_deadlock_stack=1 suppressions=${CMAKE_CURRENT_LIST_DIR}/tsan.supp")
else()
  message(FATAL_ERROR "KIND must be address or thread, not '${KIND}'")
endif()
# The Redis tests too, when this build has them (hiredis and redis-server found).
if(WITH_REDIS)
  list(APPEND binaries herald_redis_tests)
endif()
# The TLS tests under ASan+UBSan, when this build has them (OpenSSL found); not under
# TSan, which cannot see inside the uninstrumented OpenSSL.
if(WITH_TLS AND KIND STREQUAL "address")
  list(APPEND binaries herald_tls_tests)
endif()
# -g1, line tables only (clang's -gline-tables-only), as tools/test: a sanitizer's
# report names every frame's function, file and line from them, and full debug
# information made a fifth of these builds' compile time
# (tests/asio/websocket_test.cpp under clang's ASan+UBSan: 37.5 s with -g, 30.6 s).
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" ${ARGS} -DCMAKE_BUILD_TYPE=Debug
          "-DCMAKE_CXX_FLAGS=${flags}${cxx_only}" "-DCMAKE_C_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}"
          -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1 ${only_threaded} ${core_options}
          -DHERALD_BUILD_EXAMPLES=ON -DHERALD_INSTALL=OFF -DHERALD_TEST_SANITIZERS=OFF
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "configure failed:\n${out}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}" --target ${binaries}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "build failed:\n${out}")
endif()
foreach(binary IN LISTS binaries)
  # The cluster drills (about a minute of failures timed in wall-clock seconds) run
  # in the plain build only: the suite's budget; their nodes' code runs here in the
  # other cluster tests.
  set(filter)
  if(binary STREQUAL "herald_redis_tests")
    set(filter "~[drill]")
  endif()
  execute_process(COMMAND "${WORK_DIR}/tests/${binary}" ${filter} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(result)
    message(FATAL_ERROR "${binary} failed under ${name} (exit ${result}):\n${out}")
  endif()
  message(STATUS "${binary}: clean under ${name}")
endforeach()
