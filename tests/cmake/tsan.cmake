# Builds herald's Asio-layer and example tests with ThreadSanitizer in a build of
# their own and runs them; any race report fails the test (TSAN_OPTIONS exit code).
# The core tests are single-threaded and skipped. GCC warns that TSan cannot see
# the atomic_thread_fence Asio uses (-Wtsan); herald itself uses none. Called by
# ctest with SOURCE_DIR, WORK_DIR and ARGS (generator and compilers).
set(flags "-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" ${ARGS} -DCMAKE_BUILD_TYPE=Debug
          "-DCMAKE_CXX_FLAGS=${flags}" "-DCMAKE_C_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}"
          -DHERALD_BUILD_EXAMPLES=ON -DHERALD_INSTALL=OFF -DHERALD_TEST_SANITIZERS=OFF
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "configure failed:\n${out}")
endif()
set(binaries herald_asio_tests herald_example_tests)
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}" --target ${binaries}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "build failed:\n${out}")
endif()
set(ENV{TSAN_OPTIONS} "exitcode=66 second_deadlock_stack=1")
foreach(binary IN LISTS binaries)
  execute_process(COMMAND "${WORK_DIR}/tests/${binary}" RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(result)
    message(FATAL_ERROR "${binary} failed under ThreadSanitizer (exit ${result}):\n${out}")
  endif()
  message(STATUS "${binary}: clean under ThreadSanitizer")
endforeach()
