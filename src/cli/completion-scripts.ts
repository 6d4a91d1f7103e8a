/**
 * The shell side of `drover completion bash|zsh|fish`: each script hands the words typed so far to the
 * hidden `drover __complete`, which answers one candidate per line (commands, flags, kinds, and object
 * names read from the server), as kubectl's scripts call `kubectl __complete`.
 */

export const shells = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof shells)[number];

const bash = `# drover completion for bash. Load it with:  source <(drover completion bash)
_drover_complete() {
  local IFS=$'\\n'
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  COMPREPLY=( $(drover __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
  if [ \${#COMPREPLY[@]} -eq 0 ] && [ -n "$cur" ]; then
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
  return 0
}
complete -o default -F _drover_complete drover
`;

const zsh = `#compdef drover
# drover completion for zsh. Load it with:  source <(drover completion zsh)
_drover() {
  local -a candidates
  candidates=("\${(@f)$(drover __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=(\${candidates:#})
  if (( \${#candidates} )); then
    compadd -Q -- "\${candidates[@]}"
  else
    _files
  fi
}
if (( $+functions[compdef] )); then
  compdef _drover drover
fi
`;

const fish = `# drover completion for fish. Load it with:  drover completion fish | source
function __drover_complete
    set -l tokens (commandline -opc) (commandline -ct)
    drover __complete $tokens[2..-1] 2>/dev/null
end
complete -c drover -f -a '(__drover_complete)'
`;

export function completionScript(shell: Shell): string {
  return { bash, zsh, fish }[shell];
}
