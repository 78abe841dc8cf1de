# Builds herald's libFuzzer targets with clang in a build of their own and runs each
# for a bounded number of inputs from its seed corpus: a smoke test that the targets
# build, that the seeds pass, and that a short mutation run finds nothing. Long runs
# are for people and CI jobs with time to spare (fuzz/CMakeLists.txt says how).
#
#   cmake -DSOURCE_DIR=<herald> -DWORK_DIR=<scratch> -DCLANGXX=<clang++> -DCLANG=<clang>
#         [-DGENERATOR=Ninja] [-DRUNS=200000] [-DSEED=1] ["-DEXTRA_ARGS=-D...;-D..."]
#         -P tests/fuzz_smoke.cmake
#
# The fuzzers mutate a copy of the corpus (libFuzzer adds every input that finds new
# coverage to the folder it is given), so the source tree is never written. SEED is
# fixed by default so that a run is repeatable; SEED=0 lets libFuzzer pick one.
cmake_minimum_required(VERSION 3.21)

foreach(var SOURCE_DIR WORK_DIR CLANGXX CLANG)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "fuzz_smoke.cmake needs -D${var}=...")
  endif()
endforeach()
if(NOT DEFINED RUNS)
  set(RUNS 200000)  # about 15 s per target on 2 cores
endif()
if(NOT DEFINED SEED)
  set(SEED 1)
endif()
set(max_len 4096)
set(targets http_request http_response sse_parser longpoll_answer websocket_frames)
set(build_dir "${WORK_DIR}/build")
set(generator_args)
if(GENERATOR)
  set(generator_args -G "${GENERATOR}")
endif()

function(fail what output)
  message(FATAL_ERROR "${what}\n${output}")
endfunction()

# The build is kept between runs (an incremental rebuild is cheap and correct); the
# corpus copies and crash artifacts are not, so every run starts from the seeds.
file(REMOVE_RECURSE "${WORK_DIR}/corpus" "${WORK_DIR}/artifacts")
file(MAKE_DIRECTORY "${WORK_DIR}/artifacts")
if(EXISTS "${build_dir}/CMakeCache.txt")
  # A cache made with another generator cannot be reconfigured with this one.
  file(STRINGS "${build_dir}/CMakeCache.txt" cached_generator REGEX "^CMAKE_GENERATOR:INTERNAL=")
  if(GENERATOR AND NOT cached_generator STREQUAL "CMAKE_GENERATOR:INTERNAL=${GENERATOR}")
    file(REMOVE_RECURSE "${build_dir}")
  endif()
endif()

execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${build_dir}" ${generator_args}
          "-DCMAKE_CXX_COMPILER=${CLANGXX}" "-DCMAKE_C_COMPILER=${CLANG}" -DCMAKE_BUILD_TYPE=RelWithDebInfo
          -DHERALD_BUILD_FUZZERS=ON -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_EXAMPLES=OFF
          -DHERALD_BUILD_BENCHMARKS=OFF -DHERALD_INSTALL=OFF ${EXTRA_ARGS}
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  fail("configuring the fuzz build failed (${result}):" "${out}")
endif()
set(build_targets)
foreach(target IN LISTS targets)
  list(APPEND build_targets herald_fuzz_${target})
endforeach()
execute_process(
  COMMAND "${CMAKE_COMMAND}" --build "${build_dir}" --config RelWithDebInfo --target ${build_targets}
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result)
  fail("building the fuzzers failed (${result}):" "${out}")
endif()

foreach(target IN LISTS targets)
  # Single-config generators put the binary in fuzz/, multi-config ones in fuzz/<config>/.
  set(binary "")
  foreach(candidate "${build_dir}/fuzz/herald_fuzz_${target}" "${build_dir}/fuzz/RelWithDebInfo/herald_fuzz_${target}")
    if(EXISTS "${candidate}")
      set(binary "${candidate}")
      break()
    endif()
  endforeach()
  if(NOT binary)
    fail("no herald_fuzz_${target} in ${build_dir}/fuzz after the build" "")
  endif()

  set(corpus "${WORK_DIR}/corpus/${target}")
  set(dict "${SOURCE_DIR}/fuzz/http.dict")
  if(target MATCHES "^sse_")
    set(dict "${SOURCE_DIR}/fuzz/sse.dict")
  elseif(target MATCHES "^longpoll_")
    set(dict "${SOURCE_DIR}/fuzz/longpoll.dict")
  elseif(target MATCHES "^websocket_")
    set(dict "${SOURCE_DIR}/fuzz/websocket.dict")
  endif()
  file(MAKE_DIRECTORY "${WORK_DIR}/corpus")
  file(COPY "${SOURCE_DIR}/fuzz/corpus/${target}" DESTINATION "${WORK_DIR}/corpus")
  string(TIMESTAMP started "%s")
  # -timeout: an input that takes seconds is a hang (the parser is linear in its
  # input); libFuzzer reports it as a failure like a crash.
  execute_process(
    COMMAND "${binary}" "${corpus}" -runs=${RUNS} -max_len=${max_len} -seed=${SEED} -timeout=10
            "-dict=${dict}" "-artifact_prefix=${WORK_DIR}/artifacts/${target}-"
            -print_final_stats=1
    RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(TIMESTAMP finished "%s")
  math(EXPR seconds "${finished} - ${started}")
  if(NOT result STREQUAL "0" OR NOT out MATCHES "Done [0-9]+ runs")
    # The crash report (sanitizer stack, the input in hex and base64) comes last; the
    # progress lines before it are noise.
    string(LENGTH "${out}" length)
    if(length GREATER 20000)
      math(EXPR from "${length} - 20000")
      string(SUBSTRING "${out}" ${from} -1 out)
      set(out "...\n${out}")
    endif()
    file(GLOB artifacts "${WORK_DIR}/artifacts/${target}-*")
    string(REPLACE ";" "\n  " artifacts "${artifacts}")
    fail("herald_fuzz_${target} failed (${result}) after ${seconds} s; reproduce with\n  ${binary} <artifact>\n"
         "artifacts:\n  ${artifacts}\n${out}")
  endif()
  string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" executed "${out}")
  string(REGEX REPLACE ".* " "" executed "${executed}")
  string(REGEX MATCH "DONE +cov: [0-9]+ ft: [0-9]+ corp: [0-9]+" coverage "${out}")
  string(REGEX REPLACE "DONE +" "" coverage "${coverage}")
  message(STATUS "herald_fuzz_${target}: ${executed} inputs, ${coverage}, ${seconds} s, no crash")
endforeach()
