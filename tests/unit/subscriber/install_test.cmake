# cmake -P script: installs the jcm-subscriber component into a temporary
# prefix, builds examples/ against it with find_package(jcm), and runs the
# example (against a server address that refuses, so it must say "none").
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUT "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix --component jcm-subscriber)
foreach(f include/jcm/subscriber.h include/jcm/allocator.h include/jcm/endpoint.h
    include/jcm/model/status.h lib/libjcm-subscriber.a lib/cmake/jcm/jcmConfig.cmake)
  if(NOT EXISTS ${WORK_DIR}/prefix/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
# Only the public API is installed: nothing from subscriber/src.
file(GLOB_RECURSE leaked ${WORK_DIR}/prefix/include/*_core.h ${WORK_DIR}/prefix/include/*poller.h)
if(leaked)
  message(FATAL_ERROR "private headers installed: ${leaked}")
endif()
run(${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${WORK_DIR}/build
  -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_CXX_COMPILER=${CXX}
  "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/jcm-subscriber-example 127.0.0.1:1 demo 3)
if(NOT LAST_OUT MATCHES "pick 1: none")
  message(FATAL_ERROR "unexpected example output:\n${LAST_OUT}")
endif()
message(STATUS "example ran:\n${LAST_OUT}")
