# Helpers shared by every module's CMakeLists.txt.

set(FUNNEL_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
# -fno-math-errno lets GCC vectorise the sqrt loops of the sparse optimizers; nothing here reads
# errno after a math call.
set(FUNNEL_CXX_FLAGS ${FUNNEL_WARNINGS} -fno-math-errno)
option(FUNNEL_UNITY_BUILD "Compile the torch-heavy targets as unity batches (faster clean builds)" ON)
if(FUNNEL_NATIVE)
  list(APPEND FUNNEL_CXX_FLAGS -march=native)
endif()

# Build time is a budget (docs/benchmarks.md, "Build time"). A translation unit that includes
# a LibTorch header pays for parsing ATen (torch/nn/module.h alone: ~10 CPU-s), so files include
# the specific LibTorch headers they need (never torch/torch.h) and files that need no tensors
# include none. There is no precompiled header: loading one of torch/torch.h (570 MB) cost
# ~13 CPU-s per file, more than parsing the headers a file really needs. Where many files of
# one target include the nn headers (model/, the torch test suites) they are compiled as unity
# batches (UNITY n: n files per translation unit), so those headers are parsed once per batch.
function(funnel_unity target batch)
  if(batch GREATER 1 AND FUNNEL_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${batch}
                                               UNITY_BUILD_MODE BATCH)
  endif()
endfunction()

# Sources without LibTorch (PLAIN) compile together as one more unity translation unit beside
# the UNITY batches of the others (UNITY_BUILD_MODE GROUP): a clean build parses the JSON and
# standard headers they share once, and editing one of them recompiles the few plain ones only.
function(funnel_unity_groups target batch plain)
  if(NOT FUNNEL_UNITY_BUILD)
    return()
  endif()
  get_target_property(sources ${target} SOURCES)
  set(i 0)
  foreach(source IN LISTS sources)
    if(source IN_LIST plain)
      set_source_files_properties(${source} PROPERTIES UNITY_GROUP plain)
    else()
      math(EXPR group "${i} / ${batch}")
      set_source_files_properties(${source} PROPERTIES UNITY_GROUP batch${group})
      math(EXPR i "${i} + 1")
    endif()
  endforeach()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE GROUP)
endfunction()

# funnel_module(NAME SOURCES a.cc b.cc DEPS funnel_core ... [PUBLIC_DEPS ...] [TORCH] [UNITY n]
#               [PLAIN a.cc ...])
# Creates the library funnel_<NAME>. TORCH links LibTorch. UNITY n: n files per translation
# unit; PLAIN (with UNITY): those of SOURCES that need no LibTorch, one group of their own.
function(funnel_module name)
  cmake_parse_arguments(M "TORCH" "UNITY" "SOURCES;DEPS;PUBLIC_DEPS;PLAIN" ${ARGN})
  add_library(funnel_${name} STATIC ${M_SOURCES})
  target_include_directories(funnel_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(funnel_${name} PRIVATE ${FUNNEL_CXX_FLAGS})
  target_link_libraries(funnel_${name} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_DEPS})
  if(M_TORCH)
    if(NOT Torch_FOUND)
      message(FATAL_ERROR "module ${name} needs LibTorch: run scripts/setup.sh")
    endif()
    target_link_libraries(funnel_${name} PUBLIC ${TORCH_LIBRARIES})
  endif()
  if(M_UNITY AND M_PLAIN)
    funnel_unity_groups(funnel_${name} ${M_UNITY} "${M_PLAIN}")
  elseif(M_UNITY)
    funnel_unity(funnel_${name} ${M_UNITY})
  endif()
endfunction()

# funnel_test(MODULE SOURCES a_test.cc ... DEPS ... [TORCH] [UNITY n])
# One GoogleTest executable per module: tests/<module>/ -> test_<module>.
function(funnel_test module)
  cmake_parse_arguments(T "TORCH" "UNITY" "SOURCES;DEPS" ${ARGN})
  add_executable(test_${module} ${T_SOURCES})
  target_compile_options(test_${module} PRIVATE ${FUNNEL_CXX_FLAGS})
  target_link_libraries(test_${module} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  target_compile_definitions(test_${module} PRIVATE FUNNEL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  if(T_TORCH)
    target_link_libraries(test_${module} PRIVATE ${TORCH_LIBRARIES})
  endif()
  if(T_UNITY)
    funnel_unity(test_${module} ${T_UNITY})
  endif()
  gtest_discover_tests(test_${module} DISCOVERY_MODE PRE_TEST
                       WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
endfunction()
