# Sourced by the scripts that run debootstrap: prints the Debian archive apt uses here
# (origin Debian, label Debian, not Debian-Security). OOMTRACE_MIRROR overrides it.
debian_mirror() {
  if [ -n "${OOMTRACE_MIRROR:-}" ]; then echo "$OOMTRACE_MIRROR"; return; fi
  m=$(apt-get indextargets --format '$(ORIGIN)|$(LABEL)|$(REPO_URI)' 2>/dev/null |
    awk -F'|' '$1 == "Debian" && $2 == "Debian" { print $3; exit }')
  if [ -z "$m" ]; then
    # No apt lists yet: the first Debian (non-security) URI of the sources files.
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
      sed -n -e 's/^[[:space:]]*URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
        -e 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' |
      grep '/debian/\?$' | head -n1)
  fi
  [ -n "$m" ] || { echo "no Debian mirror found in apt's sources (set OOMTRACE_MIRROR)" >&2; return 1; }
  echo "$m"
}
