//! Project tasks.
//!
//! * `cargo xtask gen`: write `nlctl/doc/nlctl.1` (man page) and
//!   `nlctl/completions/{nlctl.bash,_nlctl,nlctl.fish}` from nlctl's clap
//!   definition.
//! * `cargo xtask check`: exit 1 if any of those files is stale.
//!
//! The test in this file fails when the checked-in files are stale, so
//! `cargo test` catches a CLI change without `cargo xtask gen`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use nlctl::cli::Cli;
use nlctl::doc::JSON_OUTPUT;
use nlctl::exit::Exit;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every generated file: path relative to the root, and contents.
fn generated() -> io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = vec![(PathBuf::from("nlctl/doc/nlctl.1"), man_page()?)];
    for (shell, name) in [
        (Shell::Bash, "nlctl.bash"),
        (Shell::Zsh, "_nlctl"),
        (Shell::Fish, "nlctl.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "nlctl", &mut buf);
        files.push((Path::new("nlctl/completions").join(name), buf));
    }
    Ok(files)
}

fn man_page() -> io::Result<Vec<u8>> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone()).manual("nlctl manual");
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;

    let mut r = Roff::new();
    r.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        let mut usage = vec![bold(format!("nlctl {name}"))];
        for a in sub.get_positionals() {
            let v = a
                .get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| a.get_id().to_string(), ToString::to_string);
            usage.push(roman(" "));
            usage.push(italic(v));
        }
        if sub.get_arguments().any(|a| !a.is_positional()) {
            usage.push(roman(" [OPTIONS]"));
        }
        r.control("SS", [name]);
        r.text(usage);
        r.control("PP", []);
        let about = sub
            .get_long_about()
            .or_else(|| sub.get_about())
            .map(ToString::to_string)
            .unwrap_or_default();
        r.text([roman(about)]);
        for a in sub.get_arguments() {
            let id = a.get_id().as_str();
            if id == "help" || a.is_global_set() {
                continue;
            }
            let value = a
                .get_value_names()
                .and_then(|v| v.first())
                .map(ToString::to_string);
            let mut head = Vec::new();
            match (a.get_long(), value) {
                (Some(l), Some(v)) => {
                    head.push(bold(format!("--{l}")));
                    head.push(roman(" "));
                    head.push(italic(v));
                }
                (Some(l), None) => head.push(bold(format!("--{l}"))),
                (None, Some(v)) => head.push(italic(v)),
                (None, None) => head.push(italic(id.to_owned())),
            }
            let pv: Vec<String> = a
                .get_possible_values()
                .iter()
                .map(|p| p.get_name().to_owned())
                .collect();
            let mut help = a
                .get_long_help()
                .or_else(|| a.get_help())
                .map(ToString::to_string)
                .unwrap_or_default();
            if !pv.is_empty() {
                if !help.is_empty() && !help.ends_with('.') {
                    help.push('.');
                }
                help.push_str(&format!(" One of: {}.", pv.join(", ")));
            }
            r.control("TP", []);
            r.text(head);
            r.text([roman(help)]);
        }
    }

    r.control("SH", ["EXIT STATUS"]);
    for e in Exit::ALL {
        r.control("TP", []);
        r.text([bold(e.code().to_string())]);
        r.text([roman(e.description())]);
    }

    r.control("SH", ["JSON OUTPUT"]);
    r.text([roman(
        "Each command prints one JSON object on standard output, compact unless \
         --pretty is given; monitor prints one compact object per line (NDJSON) \
         and flushes each line. Keys are never removed or renamed within a major \
         version; new keys may be added. Errors go to standard error as one line \
         starting with \"nlctl: \".",
    )]);
    for o in JSON_OUTPUT {
        r.control("SS", [o.command]);
        r.text([roman("Example: "), bold(o.example)]);
        for k in o.keys {
            r.control("TP", []);
            r.text([bold(k.name), roman(format!(" ({})", k.ty))]);
            r.text([roman(k.meaning)]);
        }
    }

    r.control("SH", ["ENVIRONMENT"]);
    r.control("TP", []);
    r.text([bold("RUST_LOG")]);
    r.text([roman(
        "Set to debug to log every netlink message sent and received (summary and \
         hex) on standard error; trace logs complete hex dumps.",
    )]);

    r.control("SH", ["EXAMPLES"]);
    for (cmdline, what) in [
        ("nlctl set-mode upper", "make echo convert to upper case"),
        (
            "nlctl echo hello",
            "prints {\"msg\":\"HELLO\",\"mode\":\"upper\"}",
        ),
        (
            "printf 'hi\\\\n' | nlctl echo -",
            "read the message from standard input",
        ),
        (
            "nlctl --netns blue stats",
            "counters of network namespace blue",
        ),
        ("nlctl monitor --count 1", "wait for the next mode change"),
    ] {
        r.control("TP", []);
        r.text([bold(cmdline)]);
        r.text([roman(what)]);
    }
    r.to_writer(&mut buf)?;
    man.render_version_section(&mut buf)?;
    Ok(buf)
}

fn stale() -> io::Result<Vec<PathBuf>> {
    let root = root();
    let mut out = Vec::new();
    for (rel, want) in generated()? {
        if std::fs::read(root.join(&rel)).ok().as_deref() != Some(&want[..]) {
            out.push(rel);
        }
    }
    Ok(out)
}

fn gen() -> io::Result<()> {
    let root = root();
    for (rel, data) in generated()? {
        let path = root.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, data)?;
        println!("wrote {}", rel.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let r = match task.as_deref() {
        Some("gen") => gen().map(|()| ExitCode::SUCCESS),
        Some("check") => stale().map(|s| {
            if s.is_empty() {
                ExitCode::SUCCESS
            } else {
                for p in s {
                    let _ = writeln!(
                        io::stderr(),
                        "stale: {} (run `cargo xtask gen`)",
                        p.display()
                    );
                }
                ExitCode::FAILURE
            }
        }),
        _ => {
            let _ = writeln!(io::stderr(), "usage: cargo xtask gen|check");
            Ok(ExitCode::from(2))
        }
    };
    r.unwrap_or_else(|e| {
        let _ = writeln!(io::stderr(), "xtask: {e}");
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_files_are_fresh() {
        let s = super::stale().unwrap();
        assert!(
            s.is_empty(),
            "stale generated files {s:?}: run `cargo xtask gen` and commit the result"
        );
    }

    #[test]
    fn man_page_has_contract_sections() {
        let man = String::from_utf8(super::man_page().unwrap()).unwrap();
        for s in [
            "EXIT STATUS",
            "JSON OUTPUT",
            "COMMANDS",
            "echo_requests",
            "msg_hex",
            "overrun",
        ] {
            assert!(man.contains(s), "man page lacks {s}");
        }
    }
}
