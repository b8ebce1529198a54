#!/bin/sh
# Builds the Debian packages with CPack and inspects them (never installs
# them: no dpkg -i): file lists, Depends, conffiles, maintainer scripts (the
# postinst run against stub commands), the unit; the packaged jcm-server
# parses the packaged config, whose keys are exactly its options; and
# examples/ builds against the unpacked libjcm-subscriber-dev.
#
# usage: packaging_test.sh BUILD_DIR SOURCE_DIR WORK_DIR CXX [EXTRA_FLAGS]
#   BUILD_DIR: a configured, built tree (the ctest one): CPack installs its
#   components. With JCM_PACKAGING_FRESH=1 the script instead configures and
#   builds a fresh tree of SOURCE_DIR (tests and bench off) in WORK_DIR and
#   packages that, as a release would (slower: a full build).
set -eu
build=$1 src=$2 work=$3 cxx=$4 extra=${5:-}

fail() { echo "FAIL: $*" >&2; exit 1; }
has_line() { grep -qx -- "$2" "$1" || fail "$1 lacks the line '$2'"; }

rm -rf "$work"
mkdir -p "$work"
if [ "${JCM_PACKAGING_FRESH:-0}" = 1 ]; then
  export CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=1
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DJCM_BUILD_TESTS=OFF \
    -DJCM_BUILD_BENCH=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache >"$work/configure.log"
  cmake --build "$work/build" -j2 >"$work/build.log"
  build="$work/build"
fi

cpack --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack"; }
server_deb=$(ls "$work"/out/jcm-server_*.deb)
dev_deb=$(ls "$work"/out/libjcm-subscriber-dev_*.deb)
[ "$(ls "$work"/out/*.deb | wc -l)" -eq 2 ] || fail "expected exactly two packages: $(ls "$work"/out)"

# --- jcm-server ------------------------------------------------------------
dpkg-deb -c "$server_deb" | awk '{print $6}' | sed 's|/$||' >"$work/server.files"
for f in ./usr/bin/jcm-server ./usr/bin/jcmctl ./usr/lib/systemd/system/jcm-server.service \
    ./etc/jcm/jcm.conf; do
  has_line "$work/server.files" "$f"
done
! grep -E '/include/|\.a$|/cmake/' "$work/server.files" || fail "dev files in jcm-server"

[ "$(dpkg-deb -f "$server_deb" Package)" = jcm-server ] || fail "server package name"
depends=$(dpkg-deb -f "$server_deb" Depends)
echo "jcm-server Depends: $depends"
# Every shared library the server binary links directly (NEEDED) comes from
# a package it depends on (asked of dpkg for each library, not a fixed list).
ldd "$build/bin/jcm-server" >"$work/ldd"
for name in $(objdump -p "$build/bin/jcm-server" | awk '$1 == "NEEDED" {print $2}'); do
  lib=$(awk -v n="$name" '$1 == n && $2 == "=>" {print $3}' "$work/ldd")
  [ -n "$lib" ] || continue  # the dynamic loader itself
  real=$(readlink -f "$lib")
  owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null ||
          dpkg -S "/usr$real" 2>/dev/null) || fail "no package owns $lib"
  pkg=${owner%%:*}
  # The dependency may name the owner or a virtual package it provides
  # (Debian 12: libspdlog1.10 provides the libspdlog1.10-fmt9 its shlibs name).
  found=
  for name in $pkg $(dpkg-query -W -f='${Provides}' "$pkg" | tr -d ',' |
      sed 's/([^)]*)//g'); do
    case ", $depends," in
      *", $name "* | *", $name,"*) found=$name ;;
    esac
  done
  [ -n "$found" ] || fail "Depends lacks $pkg (for $lib)"
done
for pkg in libzookeeper-mt2 libcurl4 adduser; do
  echo ", $depends," | grep -q ", $pkg[ ,]" || fail "Depends lacks $pkg"
done

dpkg-deb -I "$server_deb" conffiles >"$work/conffiles"
has_line "$work/conffiles" /etc/jcm/jcm.conf
for s in postinst prerm postrm; do
  dpkg-deb -I "$server_deb" $s >"$work/$s" || fail "no $s in jcm-server"
  sh -n "$work/$s" || fail "$s: syntax"
done
grep -q 'adduser --system' "$work/postinst" || fail "postinst does not create the jcm user"
grep -q 'getent passwd jcm' "$work/postinst" || fail "postinst not idempotent"
! grep -E 'systemctl (start|enable|restart)|deb-systemd-invoke start|deb-systemd-helper enable' \
  "$work/postinst" || fail "postinst starts or enables the service"

# postinst run against stub commands (nothing on this machine changes): it
# creates the user and group when getent lacks them, and not when they exist.
stubs="$work/stubs"
mkdir -p "$stubs"
for c in adduser addgroup chown chmod systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$c" "$stubs" >"$stubs/$c"
done
printf '#!/bin/sh\n[ -e "%s/exists" ]\n' "$stubs" >"$stubs/getent"
chmod 755 "$stubs"/*
PATH="$stubs:$PATH" sh "$work/postinst" configure || fail "postinst (fresh) failed"
grep -q '^adduser --system .* jcm$' "$stubs/calls" || fail "postinst did not add the user"
grep -q '^addgroup --system .*jcm$' "$stubs/calls" || fail "postinst did not add the group"
! grep -E '^systemctl (start|enable|restart)' "$stubs/calls" || fail "postinst started jcm"
rm "$stubs/calls"
touch "$stubs/exists"
PATH="$stubs:$PATH" sh "$work/postinst" configure || fail "postinst (again) failed"
! grep -E '^add(user|group)' "$stubs/calls" || fail "postinst re-adds an existing user"

dpkg-deb -x "$server_deb" "$work/server-root"
unit="$work/server-root/usr/lib/systemd/system/jcm-server.service"
has_line "$unit" "User=jcm"
has_line "$unit" "ExecStart=/usr/bin/jcm-server --config /etc/jcm/jcm.conf"
has_line "$unit" "Restart=on-failure"
has_line "$unit" 'ExecReload=/bin/kill -HUP $MAINPID'
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
[ "$nofile" -ge 20000 ] || fail "LimitNOFILE=$nofile"

# The packaged config parses: options from the file are accepted, so the
# server gets as far as the (deliberately bad) --listen from the command line.
conf="$work/server-root/etc/jcm/jcm.conf"
parses() {
  set +e
  "$work/server-root/usr/bin/jcm-server" --config "$1" --listen not-an-address \
    >"$work/parse.out" 2>&1
  rc=$?
  set -e
  [ $rc -eq 2 ] && grep -q "listen: 'not-an-address' is not HOST:PORT" "$work/parse.out"
}
parses "$conf" || { cat "$work/parse.out"; fail "the packaged jcm.conf does not parse"; }
# Every commented example key is a real option with a valid value.
sed 's/^# \([a-z-]* = \)/\1/' "$conf" >"$work/all-keys.conf"
[ "$(grep -c '^[a-z-]* = ' "$work/all-keys.conf")" -ge 20 ] || fail "few example keys"
parses "$work/all-keys.conf" ||
  { cat "$work/parse.out"; fail "an example key in jcm.conf is rejected"; }
# The config's keys are exactly the server's options (CLI11 ignores unknown
# keys in a config file, so a misspelt key would otherwise go unnoticed).
"$work/server-root/usr/bin/jcm-server" --help | grep -o -- '--[a-z][a-z-]*' |
  sed 's/^--//' | grep -vx -e help -e config | sort -u >"$work/options"
sed -n 's/^\([a-z-]*\) = .*/\1/p' "$work/all-keys.conf" | sort -u >"$work/keys"
[ "$(wc -l <"$work/options")" -ge 20 ] || fail "too few options in --help"
diff "$work/options" "$work/keys" >"$work/keys.diff" ||
  { cat "$work/keys.diff"; fail "jcm.conf keys differ from jcm-server's options (< missing, > unknown)"; }

# A plain `cmake --install` (no component) leaves /etc and the unit alone:
# they are the package's (DESTDIR keeps this run off the real /etc).
DESTDIR="$work/plain" cmake --install "$build" --prefix /usr >"$work/plain.log"
[ -x "$work/plain/usr/bin/jcm-server" ] || fail "plain install lacks jcm-server"
[ ! -e "$work/plain/etc" ] && [ ! -e "$work/plain/usr/lib/systemd" ] ||
  fail "a plain cmake --install writes /etc or the systemd unit"

# --- libjcm-subscriber-dev -------------------------------------------------
dpkg-deb -c "$dev_deb" | awk '{print $6}' | sed 's|/$||' >"$work/dev.files"
for f in ./usr/include/jcm/subscriber.h ./usr/include/jcm/allocator.h \
    ./usr/include/jcm/endpoint.h ./usr/include/jcm/model/status.h \
    ./usr/lib/libjcm-subscriber.a ./usr/lib/cmake/jcm/jcmConfig.cmake \
    ./usr/lib/cmake/jcm/jcmConfigVersion.cmake ./usr/lib/cmake/jcm/jcmTargets.cmake; do
  has_line "$work/dev.files" "$f"
done
! grep -E '/bin/|/etc/|/systemd/|_core\.h$|poller\.h$' "$work/dev.files" ||
  fail "server or private files in libjcm-subscriber-dev"
[ "$(dpkg-deb -f "$dev_deb" Package)" = libjcm-subscriber-dev ] || fail "dev package name"
dev_depends=$(dpkg-deb -f "$dev_deb" Depends)
echo "libjcm-subscriber-dev Depends: $dev_depends"
for pkg in libcpp-httplib-dev libxxhash-dev nlohmann-json3-dev pkg-config; do
  echo ", $dev_depends," | grep -q ", $pkg[ ,]" || fail "dev Depends lacks $pkg"
done

# The unpacked package builds and runs examples/ (find_package(jcm)).
dpkg-deb -x "$dev_deb" "$work/dev-root"
cmake -S "$src/examples" -B "$work/example" -DCMAKE_PREFIX_PATH="$work/dev-root/usr" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" \
  >"$work/example-configure.log" 2>&1 || { cat "$work/example-configure.log"; fail "configure example"; }
grep -q "$work/dev-root/usr/lib/cmake/jcm" "$work/example/CMakeCache.txt" ||
  fail "example did not find jcm in the unpacked package"
cmake --build "$work/example" >"$work/example-build.log" 2>&1 ||
  { cat "$work/example-build.log"; fail "build example"; }
out=$("$work/example/jcm-subscriber-example" 127.0.0.1:1 demo 3)
echo "$out" | grep -q "pick 1: none" || fail "unexpected example output: $out"
echo "packages OK: $(basename "$server_deb") $(basename "$dev_deb")"
