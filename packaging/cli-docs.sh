#!/usr/bin/env bash
# Generates the bash completion and the man page's per-command section from the built
# executable's own --help (CLI11 layout: "Subcommands:" and "Options:" blocks, two-space indent),
# so neither can fall behind the CLI.
#   cli-docs.sh bash-completion FAULTLINE   completion script on stdout
#   cli-docs.sh man-include FAULTLINE       help2man --include file on stdout
set -euo pipefail
mode=${1:?usage: cli-docs.sh bash-completion|man-include FAULTLINE}
faultline=${2:?usage: cli-docs.sh bash-completion|man-include FAULTLINE}

# Lines of one "Name:" block of a help text, up to the next blank line.
block() { awk -v head="$1:" '$0 == head { on = 1; next } on && /^$/ { exit } on'; }
subcommands() { block Subcommands | awk '/^  [a-z]/ { print $1 }'; }
# Option names of one help text: "  -j,--jobs UINT  ..." gives -j and --jobs.
options() { block Options | awk '/^  -/ { n = split($1, names, ","); for (i = 1; i <= n; i++) print names[i] }'; }

commands=$("$faultline" --help | subcommands)
[ -n "$commands" ] || { echo "cli-docs.sh: no subcommands in \`$faultline --help\`" >&2; exit 1; }

case "$mode" in
  bash-completion)
    cat <<'HEAD'
# bash completion for faultline, generated from its --help at build time.
_faultline() {
  local cur=${COMP_WORDS[COMP_CWORD]} sub="" i words=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    # Past `exec --` the words belong to the command being run: leave them to the default completion.
    [[ ${COMP_WORDS[i]} == -- ]] && return 0
    if [[ -z $sub && ${COMP_WORDS[i]} != -* ]]; then sub=${COMP_WORDS[i]}; fi
  done
  case $sub in
HEAD
    printf '    "") words="%s" ;;\n' "$(echo $commands $("$faultline" --help | options))"
    for c in $commands; do
      help=$("$faultline" "$c" --help)  # its own subcommands (report ...) complete like options
      printf '    %s) words="%s" ;;\n' "$c" "$(echo $(subcommands <<<"$help") $(options <<<"$help"))"
    done
    cat <<'TAIL'
  esac
  # Subcommand names first, then options; scenario files and commands come from the default completion.
  if [[ -z $sub || $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
  fi
}
complete -o bashdefault -o default -F _faultline faultline
TAIL
    ;;
  man-include)
    echo "[COMMANDS]"
    for c in $commands; do
      echo ".SS $c"
      echo ".nf"
      # Verbatim help text: escape backslashes, and lines roff would take for requests.
      # The usage line names the executable as invoked (a build folder): say `faultline`.
      "$faultline" "$c" --help | sed -e 's|^Usage: [^ ]*faultline |Usage: faultline |' \
        -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
      echo ".fi"
    done
    cat <<'SEE'
[SEE ALSO]
The scenario format, the report format and the CI examples are in /usr/share/doc/faultline,
with example scenarios in /usr/share/doc/faultline/examples.
SEE
    ;;
  *)
    echo "cli-docs.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
