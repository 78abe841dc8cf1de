# Builds a tiny consumer of herald, the way users do (ctest runs this script):
#   MODE=install       install herald into WORK_DIR/prefix, then find_package(herald)
#   MODE=subdirectory  add_subdirectory(herald) from the consumer's CMakeLists
# SOURCE_DIR is herald's source tree; ARGS the generator and compilers to use.
cmake_minimum_required(VERSION 3.21)

function(step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(result)
    message(FATAL_ERROR "${name} failed (${result}):\n${out}")
  endif()
  message(STATUS "${name}: ok")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(project_dir "${CMAKE_CURRENT_LIST_DIR}/project")

if(MODE STREQUAL "install")
  step("configure herald" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}/herald" ${ARGS}
       -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_EXAMPLES=OFF -DHERALD_INSTALL=ON
       "-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix")
  step("build herald" "${CMAKE_COMMAND}" --build "${WORK_DIR}/herald")
  step("install herald" "${CMAKE_COMMAND}" --install "${WORK_DIR}/herald")
  step("configure consumer" "${CMAKE_COMMAND}" -S "${project_dir}" -B "${WORK_DIR}/consumer" ${ARGS}
       -DHERALD_CONSUMER_MODE=install "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
elseif(MODE STREQUAL "subdirectory")
  step("configure consumer" "${CMAKE_COMMAND}" -S "${project_dir}" -B "${WORK_DIR}/consumer" ${ARGS}
       -DHERALD_CONSUMER_MODE=subdirectory "-DHERALD_SOURCE_DIR=${SOURCE_DIR}")
else()
  message(FATAL_ERROR "MODE must be install or subdirectory, not '${MODE}'")
endif()
step("build consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer")
step("run consumer" "${WORK_DIR}/consumer/consumer")
