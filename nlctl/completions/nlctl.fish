# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_nlctl_global_optspecs
    string join \n pretty netns= h/help V/version
end

function __fish_nlctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_nlctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_nlctl_using_subcommand
    set -l cmd (__fish_nlctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c nlctl -n "__fish_nlctl_needs_command" -l netns -d 'Run in another network namespace: NAME is a file under /run/netns (as for `ip -n`); a value containing \'/\' is a path (e.g. /proc/PID/ns/net)' -r
complete -c nlctl -n "__fish_nlctl_needs_command" -l pretty -d 'Indent the JSON output'
complete -c nlctl -n "__fish_nlctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nlctl -n "__fish_nlctl_needs_command" -s V -l version -d 'Print version'
complete -c nlctl -n "__fish_nlctl_needs_command" -f -a "echo" -d 'Echo a message through the kernel, converted by the current mode'
complete -c nlctl -n "__fish_nlctl_needs_command" -f -a "set-mode" -d 'Set the mode of the network namespace (needs CAP_NET_ADMIN)'
complete -c nlctl -n "__fish_nlctl_needs_command" -f -a "get-mode" -d 'Print the current mode: {"mode":"..."}'
complete -c nlctl -n "__fish_nlctl_needs_command" -f -a "stats" -d 'Print the module\'s counters for this network namespace'
complete -c nlctl -n "__fish_nlctl_needs_command" -f -a "monitor" -d 'Print mode change events as they happen, one JSON object per line'
complete -c nlctl -n "__fish_nlctl_needs_command" -f -a "bench" -d 'Measure echo round trips per second and their latency'
complete -c nlctl -n "__fish_nlctl_needs_command" -f -a "info" -d 'Show what the kernel reports about the family: id, version, operations and their flags, multicast groups, attribute policies'
complete -c nlctl -n "__fish_nlctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nlctl -n "__fish_nlctl_using_subcommand echo" -l netns -d 'Run in another network namespace: NAME is a file under /run/netns (as for `ip -n`); a value containing \'/\' is a path (e.g. /proc/PID/ns/net)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand echo" -l pretty -d 'Indent the JSON output'
complete -c nlctl -n "__fish_nlctl_using_subcommand echo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nlctl -n "__fish_nlctl_using_subcommand echo" -s V -l version -d 'Print version'
complete -c nlctl -n "__fish_nlctl_using_subcommand set-mode" -l netns -d 'Run in another network namespace: NAME is a file under /run/netns (as for `ip -n`); a value containing \'/\' is a path (e.g. /proc/PID/ns/net)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand set-mode" -l pretty -d 'Indent the JSON output'
complete -c nlctl -n "__fish_nlctl_using_subcommand set-mode" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nlctl -n "__fish_nlctl_using_subcommand set-mode" -s V -l version -d 'Print version'
complete -c nlctl -n "__fish_nlctl_using_subcommand get-mode" -l netns -d 'Run in another network namespace: NAME is a file under /run/netns (as for `ip -n`); a value containing \'/\' is a path (e.g. /proc/PID/ns/net)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand get-mode" -l pretty -d 'Indent the JSON output'
complete -c nlctl -n "__fish_nlctl_using_subcommand get-mode" -s h -l help -d 'Print help'
complete -c nlctl -n "__fish_nlctl_using_subcommand get-mode" -s V -l version -d 'Print version'
complete -c nlctl -n "__fish_nlctl_using_subcommand stats" -l netns -d 'Run in another network namespace: NAME is a file under /run/netns (as for `ip -n`); a value containing \'/\' is a path (e.g. /proc/PID/ns/net)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand stats" -l pretty -d 'Indent the JSON output'
complete -c nlctl -n "__fish_nlctl_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nlctl -n "__fish_nlctl_using_subcommand stats" -s V -l version -d 'Print version'
complete -c nlctl -n "__fish_nlctl_using_subcommand monitor" -l count -d 'Exit (status 0) after N mode events' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand monitor" -l rcvbuf -d 'Set the socket\'s receive buffer (SO_RCVBUF) to BYTES' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand monitor" -l netns -d 'Run in another network namespace: NAME is a file under /run/netns (as for `ip -n`); a value containing \'/\' is a path (e.g. /proc/PID/ns/net)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand monitor" -l pretty -d 'Indent the JSON output'
complete -c nlctl -n "__fish_nlctl_using_subcommand monitor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nlctl -n "__fish_nlctl_using_subcommand monitor" -s V -l version -d 'Print version'
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l size -d 'Message size in bytes, 0 to 65530; repeat for several sizes' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l seconds -d 'Measure each case for S seconds (default 1)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l count -d 'Measure each case for N requests instead (split between threads)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l warmup -d 'Unmeasured requests before each case' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l batch -d 'Requests per send in the batch modes (made smaller if the socket buffers cannot hold them)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l threads -d 'Threads in the threads and batch-threads modes, each with its own socket' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l mode -d 'Which cases to run' -r -f -a "single\t'One request at a time on one socket'
batch\t'--batch requests per send, replies drained with recvmmsg'
threads\t'--threads threads, one request at a time each'
batch-threads\t'--threads threads, batches of --batch each'
all\t'single, batch, threads and batch-threads'"
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l rcvbuf -d 'Set SO_RCVBUF(FORCE) to BYTES instead of sizing it for the batch, and do not shrink the batch to fit: a too small buffer then loses replies, which are counted and reported (status 1)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l netns -d 'Run in another network namespace: NAME is a file under /run/netns (as for `ip -n`); a value containing \'/\' is a path (e.g. /proc/PID/ns/net)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -l pretty -d 'Indent the JSON output'
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nlctl -n "__fish_nlctl_using_subcommand bench" -s V -l version -d 'Print version'
complete -c nlctl -n "__fish_nlctl_using_subcommand info" -l family -d 'Inspect another generic netlink family instead (e.g. nlctrl)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand info" -l netns -d 'Run in another network namespace: NAME is a file under /run/netns (as for `ip -n`); a value containing \'/\' is a path (e.g. /proc/PID/ns/net)' -r
complete -c nlctl -n "__fish_nlctl_using_subcommand info" -l pretty -d 'Indent the JSON output'
complete -c nlctl -n "__fish_nlctl_using_subcommand info" -s h -l help -d 'Print help'
complete -c nlctl -n "__fish_nlctl_using_subcommand info" -s V -l version -d 'Print version'
complete -c nlctl -n "__fish_nlctl_using_subcommand help; and not __fish_seen_subcommand_from echo set-mode get-mode stats monitor bench info help" -f -a "echo" -d 'Echo a message through the kernel, converted by the current mode'
complete -c nlctl -n "__fish_nlctl_using_subcommand help; and not __fish_seen_subcommand_from echo set-mode get-mode stats monitor bench info help" -f -a "set-mode" -d 'Set the mode of the network namespace (needs CAP_NET_ADMIN)'
complete -c nlctl -n "__fish_nlctl_using_subcommand help; and not __fish_seen_subcommand_from echo set-mode get-mode stats monitor bench info help" -f -a "get-mode" -d 'Print the current mode: {"mode":"..."}'
complete -c nlctl -n "__fish_nlctl_using_subcommand help; and not __fish_seen_subcommand_from echo set-mode get-mode stats monitor bench info help" -f -a "stats" -d 'Print the module\'s counters for this network namespace'
complete -c nlctl -n "__fish_nlctl_using_subcommand help; and not __fish_seen_subcommand_from echo set-mode get-mode stats monitor bench info help" -f -a "monitor" -d 'Print mode change events as they happen, one JSON object per line'
complete -c nlctl -n "__fish_nlctl_using_subcommand help; and not __fish_seen_subcommand_from echo set-mode get-mode stats monitor bench info help" -f -a "bench" -d 'Measure echo round trips per second and their latency'
complete -c nlctl -n "__fish_nlctl_using_subcommand help; and not __fish_seen_subcommand_from echo set-mode get-mode stats monitor bench info help" -f -a "info" -d 'Show what the kernel reports about the family: id, version, operations and their flags, multicast groups, attribute policies'
complete -c nlctl -n "__fish_nlctl_using_subcommand help; and not __fish_seen_subcommand_from echo set-mode get-mode stats monitor bench info help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
