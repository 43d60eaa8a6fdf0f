# Install layout (FHS, GNUInstallDirs), man page, bash completion and the Debian package (CPack).
#
#   bin/faultline                         the harness
#   libexec/faultline/                    its helpers: the test payload, the demo services, and a
#                                         link back to bin/faultline, so that ${faultline_dir}/<name>
#                                         in a scenario resolves the same way installed and in a build
#   share/doc/faultline/                  README, docs, CI examples, example scenarios (examples/)
#   share/man/man1/faultline.1.gz         generated from `faultline --help` (help2man)
#   share/bash-completion/completions/    generated from the subcommands' --help
include(GNUInstallDirs)

set(FAULTLINE_HELPER_DIR "${CMAKE_INSTALL_LIBEXECDIR}/faultline")
set(FAULTLINE_HELPERS faultline-payload faultline-demo-backend faultline-demo-client faultline-demo-frontend)

# The installed executable finds its helpers relative to itself, so the package also works when
# unpacked under another root (dpkg -x, a container layer) or installed with another prefix.
file(RELATIVE_PATH helper_from_bin "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBEXECDIR}/faultline")
file(RELATIVE_PATH bin_from_helper "${CMAKE_INSTALL_FULL_LIBEXECDIR}/faultline" "${CMAKE_INSTALL_FULL_BINDIR}")
target_compile_definitions(faultline PRIVATE FAULTLINE_HELPER_RELDIR="${helper_from_bin}")

install(TARGETS faultline RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${FAULTLINE_HELPERS} RUNTIME DESTINATION ${FAULTLINE_HELPER_DIR})
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/packaging)
file(CREATE_LINK ${bin_from_helper}/faultline ${PROJECT_BINARY_DIR}/packaging/faultline SYMBOLIC)
install(FILES ${PROJECT_BINARY_DIR}/packaging/faultline DESTINATION ${FAULTLINE_HELPER_DIR})

install(FILES README.md docs/ARCHITECTURE.md docs/ci-usage.md docs/probes.md docs/report-format.md
  docs/scenarios.md docs/suites.md docs/report.schema.json DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ci DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY scenarios/examples DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Generated from the built executable's own help, so they cannot drift from the CLI.
set(cli_docs ${PROJECT_SOURCE_DIR}/packaging/cli-docs.sh)
add_custom_command(OUTPUT packaging/faultline.bash-completion
  COMMAND ${cli_docs} bash-completion $<TARGET_FILE:faultline> > packaging/faultline.bash-completion
  DEPENDS faultline ${cli_docs} VERBATIM)
set(generated packaging/faultline.bash-completion)
install(FILES ${PROJECT_BINARY_DIR}/packaging/faultline.bash-completion
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME faultline)

find_program(HELP2MAN help2man)
if(HELP2MAN)
  add_custom_command(OUTPUT packaging/faultline.1.gz
    COMMAND ${cli_docs} man-include $<TARGET_FILE:faultline> > packaging/commands.h2m
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section 1 --name "stress-test and fault-injection harness"
            --include packaging/commands.h2m --output packaging/faultline.1 $<TARGET_FILE:faultline>
    COMMAND gzip -9nf packaging/faultline.1
    DEPENDS faultline ${cli_docs} VERBATIM)
  list(APPEND generated packaging/faultline.1.gz)
  install(FILES ${PROJECT_BINARY_DIR}/packaging/faultline.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man page (apt-get install help2man)")
endif()
add_custom_target(faultline-cli-docs ALL DEPENDS ${generated})
# Everything `cmake --install` and `cpack` need, without the test and benchmark binaries.
add_custom_target(faultline-installables DEPENDS faultline ${FAULTLINE_HELPERS} faultline-cli-docs)

# Debian package: `cpack -G DEB` in the build folder (tests/package/check-deb.sh installs and runs it).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME faultline)
set(CPACK_PACKAGE_VENDOR "faultline")
set(CPACK_PACKAGE_CONTACT "faultline maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "stress-test and fault-injection harness using throwaway cgroups")
set(CPACK_PACKAGE_DESCRIPTION "Reproduces OOM kills, fd exhaustion, CPU starvation, hangs and bad
shutdowns on purpose, each target in its own throwaway cgroup (v2 or v1), and
checks the outcome against a TOML scenario. `faultline exec` stands in for
timeout(1) in CI and says why a command was killed.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "")
# The bundled examples run a real reverse proxy and Python; the harness itself needs neither.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "haproxy, python3, bash-completion")
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from what the binaries really link
else()
  # What dpkg-shlibdeps finds on Debian 12 (RE2 and libseccomp are the only libraries beyond the
  # C/C++ runtime; with FAULTLINE_STATIC_LIBS only the helpers still load libstdc++, and
  # libseccomp stays shared: LGPL-2.1, and libseccomp2 is on every Debian system already).
  if(FAULTLINE_STATIC_LIBS)
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.36), libgcc-s1 (>= 3.0), libstdc++6 (>= 12), libseccomp2 (>= 2.5.0)")
  else()
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 12), libre2-9 (>= 20220601), libseccomp2 (>= 2.5.0)")
  endif()
endif()
include(CPack)
