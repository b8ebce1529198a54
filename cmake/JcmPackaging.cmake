# Debian packages built by CPack (`cmake --build build --target package`, or
# `cpack --config build/CPackConfig.cmake`), one per component group:
#   jcm-server             components jcm-server (server, unit, conffile) and
#                          jcmctl
#   libjcm-subscriber-dev  component jcm-subscriber (headers, static library,
#                          CMake package: find_package(jcm) -> jcm::subscriber)
# The files they hold are the install() rules of those components; this file
# adds only the server's systemd unit and config and the CPack settings.
if(JCM_SUBSCRIBER_ONLY)
  return()
endif()

set(_pkg ${JCM_SOURCE_ROOT}/packaging)

# `cpack` run by hand (and it_packaging_test) packages what is already built
# instead of first building every target, tests included. The `package`
# target still builds `all` first; `cmake --install` never builds anyway.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# The unit and the config live outside any prefix: EXCLUDE_FROM_ALL keeps a
# plain `cmake --install build` (e.g. into /usr/local) from writing to /etc;
# they go in only when the jcm-server component is asked for, as CPack does.
install(FILES ${_pkg}/jcm-server.service DESTINATION lib/systemd/system
  COMPONENT jcm-server EXCLUDE_FROM_ALL)
install(FILES ${_pkg}/jcm.conf DESTINATION /etc/jcm COMPONENT jcm-server EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME jcm)
set(CPACK_PACKAGE_VENDOR "jcm")
set(CPACK_PACKAGE_CONTACT "jcm maintainers <jcm@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "jcm distributed name service")
# Installs into a staging DESTDIR, so the absolute /etc destination lands in
# the package and never on this machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_COMPONENTS_ALL jcm-server jcmctl jcm-subscriber)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)

# jcm-server: runtime libraries found by dpkg-shlibdeps from the binaries;
# adduser for the postinst that creates the jcm user.
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME jcm-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_SERVER_DESCRIPTION "jcm name service: server, jcmctl and systemd unit
jcm-server instances share a ZooKeeper ensemble, health-check cluster nodes
and serve the JSON API, the dashboard and subscribers. The service is not
started on install: edit /etc/jcm/jcm.conf, then enable jcm-server.")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
  ${_pkg}/conffiles ${_pkg}/postinst ${_pkg}/prerm ${_pkg}/postrm)
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# libjcm-subscriber-dev: a static library and headers; what jcmConfig.cmake
# finds (find_dependency / pkg-config) must be installed beside it.
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libjcm-subscriber-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libcpp-httplib-dev, libxxhash-dev, nlohmann-json3-dev, pkg-config")
set(CPACK_DEBIAN_DEV_DESCRIPTION "jcm subscriber library (development files)
Headers, static library and CMake package of libjcm-subscriber:
find_package(jcm) then link jcm::subscriber.")

include(CPack)
cpack_add_component_group(server DISPLAY_NAME "jcm server")
cpack_add_component_group(dev DISPLAY_NAME "jcm subscriber development files")
cpack_add_component(jcm-server GROUP server)
cpack_add_component(jcmctl GROUP server)
cpack_add_component(jcm-subscriber GROUP dev)
