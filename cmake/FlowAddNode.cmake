# FlowAddNode.cmake: installed with flow's CMake package (find_package(flow)).
#
# flow_add_node(NAME [SOURCES file...] [OUTPUT_DIRECTORY dir]
#               [DESTINATION dir] [NO_INSTALL])
#
# Build the node plugin NAME.so (target NAME) from SOURCES (default NAME.c):
# a MODULE linked against flow::flow with -Wl,--no-undefined, so a symbol
# that is neither in the plugin nor in libflow fails at link time instead of
# at load time. Symbols are hidden except the plugin entry FLOW_NODE exports.
# C sources are C17; C++ sources C++20 (or the project's later standard).
# Unless NO_INSTALL, `cmake --install` puts it in DESTINATION (default
# ${CMAKE_INSTALL_LIBDIR}/flow/nodes under the project's prefix: with the
# same prefix as flow, the installed flowrun finds it without --plugin-path).
include_guard(GLOBAL)
include(GNUInstallDirs)

function(flow_add_node name)
  cmake_parse_arguments(N "NO_INSTALL" "OUTPUT_DIRECTORY;DESTINATION" "SOURCES"
                        ${ARGN})
  if(NOT N_SOURCES)
    set(N_SOURCES ${name}.c)
  endif()
  add_library(${name} MODULE ${N_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name}
    C_STANDARD 17 C_STANDARD_REQUIRED ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  # A node in C++: its descriptor's designated initializers need C++20
  # (docs/writing-nodes.md); a project that asks for a later one keeps it.
  get_target_property(cxx_std ${name} CXX_STANDARD)
  if(NOT cxx_std OR cxx_std EQUAL 98 OR cxx_std LESS 20)
    set_target_properties(${name} PROPERTIES
      CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON)
  endif()
  if(N_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY ${N_OUTPUT_DIRECTORY})
  endif()
  target_link_libraries(${name} PRIVATE flow::flow)
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  if(NOT N_NO_INSTALL)
    if(NOT N_DESTINATION)
      set(N_DESTINATION ${CMAKE_INSTALL_LIBDIR}/flow/nodes)
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION ${N_DESTINATION})
  endif()
endfunction()
