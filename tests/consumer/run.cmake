# Builds a tiny consumer of herald the two ways users do, and runs it (ctest calls this
# script; DESIGN.md: "a test that consumes the installed package"):
#
#   MODE=install       build and install herald into WORK_DIR/prefix, then the consumer
#                      finds it with find_package(herald) through CMAKE_PREFIX_PATH
#   MODE=subdirectory  the consumer pulls herald's source tree in with add_subdirectory
#
#   cmake -DSOURCE_DIR=<herald> -DWORK_DIR=<scratch> -DMODE=install|subdirectory
#         "-DARGS=-G;Ninja;-DCMAKE_CXX_COMPILER=...;..." -P tests/consumer/run.cmake
#
# ARGS (generator, compilers, build type) goes to every configure step, so the
# consumer is built the way the enclosing herald build is. WORK_DIR is wiped first:
# a stale cache or a previous install must never make a broken package look good.
cmake_minimum_required(VERSION 3.21)

foreach(var SOURCE_DIR WORK_DIR MODE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()
if(NOT MODE MATCHES "^(install|subdirectory)$")
  message(FATAL_ERROR "MODE must be install or subdirectory, not '${MODE}'")
endif()
get_filename_component(SOURCE_DIR "${SOURCE_DIR}" ABSOLUTE)
get_filename_component(WORK_DIR "${WORK_DIR}" ABSOLUTE)
# Wiping the source tree by a slip of the caller would be a disaster; refuse.
string(FIND "${SOURCE_DIR}/" "${WORK_DIR}/" at)
if(at EQUAL 0)
  message(FATAL_ERROR "WORK_DIR (${WORK_DIR}) must not hold SOURCE_DIR")
endif()

# A multi-config generator (Ninja Multi-Config, Visual Studio, Xcode) builds and
# installs the configuration it is told with --config; a single-config one ignores it.
set(config_args)
foreach(arg IN LISTS ARGS)
  if(arg MATCHES "^-DCMAKE_BUILD_TYPE(:[A-Z]+)?=(.+)$")
    set(config_args --config "${CMAKE_MATCH_2}")
  endif()
endforeach()

# Runs one step; on failure stops the test and shows everything the step printed,
# since ctest's --output-on-failure is all a CI log will have.
function(step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result STREQUAL "0")
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "${name} failed (${result}):\n  ${command}\n${out}")
  endif()
  message(STATUS "${name}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(project_dir "${CMAKE_CURRENT_LIST_DIR}/project")
set(consumer_dir "${WORK_DIR}/consumer")

if(MODE STREQUAL "install")
  set(prefix "${WORK_DIR}/prefix")
  step("configure herald" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}/herald" ${ARGS}
       -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_EXAMPLES=OFF -DHERALD_INSTALL=ON
       "-DCMAKE_INSTALL_PREFIX=${prefix}")
  step("build herald" "${CMAKE_COMMAND}" --build "${WORK_DIR}/herald" ${config_args})
  step("install herald" "${CMAKE_COMMAND}" --install "${WORK_DIR}/herald" ${config_args})
  # The package must be usable once the build tree is gone (nothing in it may point back).
  file(REMOVE_RECURSE "${WORK_DIR}/herald")
  step("configure consumer" "${CMAKE_COMMAND}" -S "${project_dir}" -B "${consumer_dir}" ${ARGS}
       -DHERALD_CONSUMER_MODE=install "-DCMAKE_PREFIX_PATH=${prefix}"
       "-DHERALD_CONSUMER_SOURCE_DIR=${SOURCE_DIR}" "-DHERALD_CONSUMER_PREFIX=${prefix}")
else()
  step("configure consumer" "${CMAKE_COMMAND}" -S "${project_dir}" -B "${consumer_dir}" ${ARGS}
       -DHERALD_CONSUMER_MODE=subdirectory "-DHERALD_CONSUMER_SOURCE_DIR=${SOURCE_DIR}")
endif()
step("build consumer" "${CMAKE_COMMAND}" --build "${consumer_dir}" ${config_args})

# The consumer project writes where its executable went (per configuration, since a
# multi-config generator puts it in a folder of its own).
file(GLOB path_files "${consumer_dir}/consumer-path-*.txt")
if(config_args)
  list(GET config_args 1 config)
  set(path_files "${consumer_dir}/consumer-path-${config}.txt")
endif()
list(GET path_files 0 path_file)
if(NOT EXISTS "${path_file}")
  message(FATAL_ERROR "the consumer project wrote no consumer-path-*.txt in ${consumer_dir}")
endif()
file(READ "${path_file}" consumer)
step("run consumer" "${consumer}")
message(STATUS "${step_output}")
