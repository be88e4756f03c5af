# Helpers shared by every module's CMakeLists.txt.

set(FUNNEL_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
# Every target compiles with the same flags, so that one precompiled torch/torch.h serves all
# (a PCH is only valid under the flags it was built with). -fno-math-errno lets GCC vectorise
# the sqrt loops of the sparse optimizers; nothing here reads errno after a math call.
set(FUNNEL_CXX_FLAGS ${FUNNEL_WARNINGS} -fno-math-errno)
if(FUNNEL_NATIVE)
  list(APPEND FUNNEL_CXX_FLAGS -march=native)
endif()

# The one precompiled <torch/torch.h>, built once and reused by every LibTorch target: on
# two cores each extra copy costs about a minute of build time.
if(Torch_FOUND)
  add_library(funnel_torch_pch OBJECT ${CMAKE_SOURCE_DIR}/cmake/torch_pch.cc)
  target_compile_options(funnel_torch_pch PRIVATE ${FUNNEL_CXX_FLAGS})
  target_link_libraries(funnel_torch_pch PUBLIC ${TORCH_LIBRARIES})
  target_precompile_headers(funnel_torch_pch PRIVATE <torch/torch.h>)
endif()

# funnel_module(NAME SOURCES a.cc b.cc DEPS funnel_core ... [PUBLIC_DEPS ...] [TORCH])
# Creates the library funnel_<NAME>. TORCH links LibTorch and precompiles its header.
function(funnel_module name)
  cmake_parse_arguments(M "TORCH" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(funnel_${name} STATIC ${M_SOURCES})
  target_include_directories(funnel_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(funnel_${name} PRIVATE ${FUNNEL_CXX_FLAGS})
  target_link_libraries(funnel_${name} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_DEPS})
  if(M_TORCH)
    if(NOT Torch_FOUND)
      message(FATAL_ERROR "module ${name} needs LibTorch: run scripts/setup.sh")
    endif()
    target_link_libraries(funnel_${name} PUBLIC ${TORCH_LIBRARIES})
    funnel_torch_pch(funnel_${name})
  endif()
endfunction()

# Gives a target the shared precompiled torch/torch.h (the single most expensive header).
function(funnel_torch_pch target)
  target_precompile_headers(${target} REUSE_FROM funnel_torch_pch)
endfunction()

# funnel_test(MODULE SOURCES a_test.cc ... DEPS ... [TORCH])
# One GoogleTest executable per module: tests/<module>/ -> test_<module>.
function(funnel_test module)
  cmake_parse_arguments(T "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_executable(test_${module} ${T_SOURCES})
  target_compile_options(test_${module} PRIVATE ${FUNNEL_CXX_FLAGS})
  target_link_libraries(test_${module} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  if(T_TORCH)
    funnel_torch_pch(test_${module})
  else()
    # Only outside the shared PCH: a -D flag would invalidate it.
    target_compile_definitions(test_${module} PRIVATE FUNNEL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  endif()
  gtest_discover_tests(test_${module} DISCOVERY_MODE PRE_TEST
                       WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
endfunction()
