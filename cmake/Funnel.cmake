# Helpers shared by every module's CMakeLists.txt.

set(FUNNEL_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

# funnel_module(NAME SOURCES a.cc b.cc DEPS funnel_core ... [PUBLIC_DEPS ...] [TORCH])
# Creates the library funnel_<NAME>. TORCH links LibTorch and precompiles its header.
function(funnel_module name)
  cmake_parse_arguments(M "TORCH" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(funnel_${name} STATIC ${M_SOURCES})
  target_include_directories(funnel_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(funnel_${name} PRIVATE ${FUNNEL_WARNINGS})
  if(FUNNEL_NATIVE)
    target_compile_options(funnel_${name} PRIVATE -march=native)
  endif()
  target_link_libraries(funnel_${name} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_DEPS})
  if(M_TORCH)
    if(NOT Torch_FOUND)
      message(FATAL_ERROR "module ${name} needs LibTorch: run scripts/setup.sh")
    endif()
    target_link_libraries(funnel_${name} PUBLIC ${TORCH_LIBRARIES})
    funnel_torch_pch(funnel_${name})
  endif()
endfunction()

# Precompiles torch/torch.h for a target (the single most expensive header).
function(funnel_torch_pch target)
  target_precompile_headers(${target} PRIVATE <torch/torch.h>)
endfunction()

# funnel_test(MODULE SOURCES a_test.cc ... DEPS ... [TORCH])
# One GoogleTest executable per module: tests/<module>/ -> test_<module>.
function(funnel_test module)
  cmake_parse_arguments(T "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_executable(test_${module} ${T_SOURCES})
  target_compile_options(test_${module} PRIVATE ${FUNNEL_WARNINGS})
  target_link_libraries(test_${module} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  target_compile_definitions(test_${module} PRIVATE
    FUNNEL_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    FUNNEL_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
  if(T_TORCH)
    funnel_torch_pch(test_${module})
  endif()
  gtest_discover_tests(test_${module} DISCOVERY_MODE PRE_TEST
                       WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
endfunction()
