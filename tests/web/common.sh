# What the browser tests share (sourced): the npm packages of the tests, and a debriefd (the
# build's) on a fresh store in $work (tests/debriefd_env.sh). Needs $here, $root, $build and
# $work; sets $http, $grpc and, once start_debriefd ran, ctl (debriefctl talking to it).

# npm packages of the test (playwright-core, axe-core), from the lock file, once.
# (rt_page.sh, run by the e2e suite, may be installing them at the same time: one at a time.)
(
  exec 9>"$here/.npm-install.lock"
  flock 9
  if ! [ "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
)

source "$root/tests/debriefd_env.sh"
