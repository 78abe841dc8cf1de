# A user's build: -DCMAKE_BUILD_TYPE=Release with herald's default options (so no
# -Werror, HERALD_WERROR being for developers and CI), with tests on. It builds and
# runs the core tests and builds the README example; GCC's optimizer-only warnings
# (-Wrestrict, -Wmaybe-uninitialized) must not break it. The whole tree at -O3 would
# cost the suite more than its budget on two cores; the Asio layer's templates are
# built optimized by the package tests (tests/consumer). Called by ctest with
# SOURCE_DIR, WORK_DIR and ARGS (generator and compilers).
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" ${ARGS} -DCMAKE_BUILD_TYPE=Release
          -DHERALD_BUILD_EXAMPLES=OFF -DHERALD_TEST_SANITIZERS=OFF
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "configure failed:\n${out}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}" --target herald_core_tests herald_readme_example
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "the Release build failed:\n${out}")
endif()
execute_process(COMMAND "${WORK_DIR}/tests/herald_core_tests" RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "herald_core_tests failed in the Release build:\n${out}")
endif()
message(STATUS "Release build: core tests pass, README example built")
