# Builds herald's core and Asio test binaries with AddressSanitizer and
# UndefinedBehaviorSanitizer in a build of their own, and runs them (DESIGN.md:
# the suite also runs under sanitizers). Called by ctest with SOURCE_DIR, WORK_DIR
# and ARGS (generator and compilers).
set(flags "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" ${ARGS} -DCMAKE_BUILD_TYPE=Debug
          "-DCMAKE_CXX_FLAGS=${flags}" "-DCMAKE_C_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}"
          -DHERALD_BUILD_EXAMPLES=ON -DHERALD_INSTALL=OFF
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "configure failed:\n${out}")
endif()
set(binaries herald_core_tests herald_asio_tests herald_example_tests)
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}" --target ${binaries}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "build failed:\n${out}")
endif()
foreach(binary IN LISTS binaries)
  execute_process(COMMAND "${WORK_DIR}/tests/${binary}" RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(result)
    message(FATAL_ERROR "${binary} failed under ASan+UBSan:\n${out}")
  endif()
  message(STATUS "${binary}: clean under ASan+UBSan")
endforeach()
