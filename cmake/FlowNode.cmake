# flow_add_node(name [SOURCES ...]): build nodes/<name>.c as the plugin
# <name>.so in the plugin directory. Unresolved symbols fail at link time.
function(flow_add_node name)
  cmake_parse_arguments(N "" "" "SOURCES" ${ARGN})
  if(NOT N_SOURCES)
    set(N_SOURCES ${name}.c)
  endif()
  add_library(node_${name} MODULE ${N_SOURCES})
  set_target_properties(node_${name} PROPERTIES
    OUTPUT_NAME ${name} PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${FLOW_PLUGIN_BUILD_DIR})
  target_link_libraries(node_${name} PRIVATE flow)
  target_link_options(node_${name} PRIVATE -Wl,--no-undefined)
  install(TARGETS node_${name} LIBRARY DESTINATION ${FLOW_PLUGIN_SUBDIR})
  set_property(GLOBAL APPEND PROPERTY FLOW_NODES ${name})
endfunction()
