# FlowPackage: what `cmake --install` adds for building plugins outside the
# tree: a CMake package (find_package(flow) gives flow::flow, flow::flowrun,
# FLOW_PLUGIN_DIR and flow_add_node()) and a pkg-config file flow.pc.
include(CMakePackageConfigHelpers)

set(FLOW_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/flow)
file(STRINGS ${PROJECT_SOURCE_DIR}/framework/include/flow/version.h
     FLOW_NODE_ABI_LINE REGEX "^#define FLOW_NODE_ABI ")
string(REGEX REPLACE "^#define FLOW_NODE_ABI +([0-9]+).*" "\\1"
       FLOW_NODE_ABI_VALUE "${FLOW_NODE_ABI_LINE}")

install(EXPORT flowTargets NAMESPACE flow:: DESTINATION ${FLOW_CMAKE_DIR})
# Made in a directory of their own: they describe the installed layout, and
# find_package or pkg-config pointed at the build tree itself must not find
# them (they failed there, asking for files only the install has).
set(FLOW_PKG_DIR ${PROJECT_BINARY_DIR}/for-install)
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/flowConfig.cmake.in
  ${FLOW_PKG_DIR}/flowConfig.cmake
  INSTALL_DESTINATION ${FLOW_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR FLOW_PLUGIN_SUBDIR CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(
  ${FLOW_PKG_DIR}/flowConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  ${FLOW_PKG_DIR}/flowConfig.cmake
  ${FLOW_PKG_DIR}/flowConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/FlowAddNode.cmake
  DESTINATION ${FLOW_CMAKE_DIR})

# flow.pc finds its prefix relative to itself, so `cmake --install --prefix`
# elsewhere than the configured prefix still gives right paths.
file(RELATIVE_PATH FLOW_PC_TO_PREFIX
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" FLOW_PC_TO_PREFIX "${FLOW_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/flow.pc.in
               ${FLOW_PKG_DIR}/flow.pc @ONLY)
install(FILES ${FLOW_PKG_DIR}/flow.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
