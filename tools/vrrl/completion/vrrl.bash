# bash completion for vrrl, installed as share/bash-completion/completions/vrrl.
# The commands, options and option values come from the --help of the vrrl
# being completed, so the completion always matches that binary.

# _vrrl_commands VRRL: the commands `VRRL --help` lists, one a line.
_vrrl_commands() {
  "$1" --help 2>/dev/null | awk '/^[^ ]/ { inside = ($0 == "Subcommands:"); next } inside && NF { print $1 }'
}

# _vrrl_options VRRL COMMAND: one line per option of `VRRL COMMAND --help`
# (in "Options:" and in every option group, such as "Selecting records:"):
# its names, then "-" (a flag) or the value CLI11 shows: "a|b|c" (one of
# these), "TEXT" (a file name, say) or a number type ("UINT", "UINT=10").
_vrrl_options() {
  "$1" "$2" --help 2>/dev/null | awk '
    /^[^ ]/ { inside = ($0 != "Positionals:" && $0 != "Exit codes:" && $0 != "See also:"); next }
    inside && $1 ~ /^-/ {
      value = "-"
      if ($0 ~ /^ +-[^ ]+ [^ ]/) value = $2
      gsub(",", " ", $1)
      print $1, value
    }'
}

_vrrl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local vrrl=${COMP_WORDS[0]} command="" i
  [[ $vrrl == "~/"* ]] && vrrl=$HOME/${vrrl#"~/"}
  COMPREPLY=()

  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ ${COMP_WORDS[i]} != -* ]]; then
      command=${COMP_WORDS[i]}
      break
    fi
  done

  if [[ -z $command ]]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$(_vrrl_commands "$vrrl")" -- "$cur")
    fi
    return 0
  fi

  local options line name value names=""
  options=$(_vrrl_options "$vrrl" "$command")
  while read -r line; do
    value=${line##* }
    for name in ${line% *}; do
      names+=" $name"
      if [[ $prev == "$name" && $value != "-" ]]; then
        if [[ $value == *"|"* ]]; then
          mapfile -t COMPREPLY < <(compgen -W "${value//|/ }" -- "$cur")
        elif [[ $value == TEXT* ]]; then
          mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
        return 0
      fi
    done
  done <<<"$options"

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur")
  elif declare -F _filedir >/dev/null; then
    _filedir
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
  return 0
}

complete -F _vrrl vrrl
