# Fails when the README's first C++ block differs from tests/readme_example.cpp
# (minus the file's two comment lines), so the README never shows code that rots.
file(READ "${README}" readme)
string(REGEX MATCH "## A server in 20 lines\n\n```cpp\n(.*)```\n\nKeep-alive" block "${readme}")
set(shown "${CMAKE_MATCH_1}")  # saved: the next REGEX call resets CMAKE_MATCH_*
if(NOT shown)
  message(FATAL_ERROR "README.md has no '## A server in 20 lines' C++ block")
endif()
file(READ "${EXAMPLE}" example)
string(REGEX REPLACE "^//[^\n]*\n//[^\n]*\n" "" example "${example}")
if(NOT example STREQUAL shown)
  message(FATAL_ERROR "README.md's example and tests/readme_example.cpp differ; update one from the other")
endif()
