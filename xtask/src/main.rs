//! Project tasks.
//!
//! * `cargo xtask gen [--root DIR]`: regenerate every generated file of the
//!   tree at DIR (default: this workspace) from its sources:
//!   - from the YNL spec `genl-kmod/genl_echo.yaml`, with the kernel's own
//!     generator (`ynl-gen-c.py`, see `ynl.rs`): the UAPI header
//!     `genl-kmod/include/uapi/linux/genl_echo.h` and the policy and ops
//!     tables `genl-kmod/netlink-gen.{c,h}`;
//!   - from the same spec, here (`render.rs`): `genl-proto/src/generated.rs`
//!     (the Rust enums and constants), `genl-kmod-rs/uapi.rs` (the Rust
//!     kernel module's constants) and `tests/vm/genl_echo_gen.py`;
//!   - from the workspace version in `Cargo.toml`: `genl-kmod/version.h` and
//!     `genl-kmod/dkms.conf`;
//!   - from nlctl's clap definition: `nlctl/doc/nlctl.1` (man page) and
//!     `nlctl/completions/{nlctl.bash,_nlctl,nlctl.fish}`.
//!   - from the same version, the Debian package's `debian/genl-echo-dkms.dkms`
//!     (`PACKAGE_VERSION="#MODULE_VERSION#"`, which `dh_dkms -V` fills in
//!     from `debian/changelog`) and, when the version changed, a new
//!     `debian/changelog` entry (`release.rs`).
//! * `cargo xtask check [--root DIR]`: regenerate into a temporary tree and
//!   exit 1, naming each file and showing its diff, if a committed
//!   generated file differs, or if `debian/changelog` or the path
//!   dependencies' versions disagree with the workspace version.
//! * `cargo xtask set-version VERSION [--root DIR]`: the new version into
//!   Cargo.toml (then run `cargo xtask gen`).
//! * `cargo xtask deb [--out DIR] [--root DIR]`: the Debian packages `genl-echo-dkms` and
//!   `nlctl` (default DIR: `target/deb`), checked with lintian.
//!
//! The unit test `generated_files_are_fresh` checks the files this program
//! renders itself, so `cargo test` catches a stale one without the kernel
//! tools; `cargo xtask check` (tests/run-all.sh) checks all of them.

mod release;
mod render;
mod spec;
mod temp;
mod ynl;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use nlctl::cli::Cli;
use nlctl::doc::JSON_OUTPUT;
use nlctl::exit::Exit;

use render::SPEC_PATH;
use spec::Spec;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

type Files = Vec<(PathBuf, Vec<u8>)>;

/// `version` of `[workspace.package]` in `<root>/Cargo.toml`: the one place
/// the project's version is written.
fn workspace_version(root: &Path) -> io::Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(v) = line.strip_prefix("version") {
                let v = v.trim_start().strip_prefix('=').unwrap_or("").trim();
                if let Some(v) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    return Ok(v.to_owned());
                }
            }
        }
    }
    Err(io::Error::other(format!(
        "no version in [workspace.package] of {}",
        root.join("Cargo.toml").display()
    )))
}

fn read_spec(root: &Path) -> io::Result<(String, Spec)> {
    let path = root.join(SPEC_PATH);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    let spec = Spec::parse(&text).map_err(|e| io::Error::other(format!("{SPEC_PATH}: {e}")))?;
    Ok((text, spec))
}

/// The files rendered here, without external tools, for the tree at `root`.
fn generated_here(root: &Path) -> io::Result<Files> {
    let (_, spec) = read_spec(root)?;
    let version = workspace_version(root)?;
    let mut files = vec![
        (
            PathBuf::from("genl-proto/src/generated.rs"),
            render::rust(&spec).into_bytes(),
        ),
        (
            PathBuf::from("genl-kmod-rs/uapi.rs"),
            render::kernel_rust(&spec).into_bytes(),
        ),
        (
            PathBuf::from("tests/vm/genl_echo_gen.py"),
            render::python(&spec).into_bytes(),
        ),
        (
            PathBuf::from("genl-kmod/version.h"),
            render::version_h(&version).into_bytes(),
        ),
        (
            PathBuf::from("genl-kmod/dkms.conf"),
            render::dkms_conf(&version).into_bytes(),
        ),
        (
            PathBuf::from("debian/genl-echo-dkms.dkms"),
            render::dkms_conf("#MODULE_VERSION#").into_bytes(),
        ),
        (
            PathBuf::from("nlctl/doc/nlctl.1"),
            with_banner(".\\\"", man_page()?),
        ),
    ];
    for (shell, name) in [
        (Shell::Bash, "nlctl.bash"),
        (Shell::Zsh, "_nlctl"),
        (Shell::Fish, "nlctl.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "nlctl", &mut buf);
        files.push((
            Path::new("nlctl/completions").join(name),
            with_banner("#", buf),
        ));
    }
    Ok(files)
}

/// Puts the "generated, do not edit" line first, or second after a line
/// that must stay first (zsh's `#compdef`).
fn with_banner(comment: &str, body: Vec<u8>) -> Vec<u8> {
    let banner = format!(
        "{comment} Generated by `cargo xtask gen` from nlctl's clap definitions; do not edit.\n"
    );
    let split = if body.starts_with(b"#compdef") {
        body.iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| i + 1)
    } else {
        0
    };
    let mut out = body[..split].to_vec();
    out.extend_from_slice(banner.as_bytes());
    out.extend_from_slice(&body[split..]);
    out
}

/// Every generated file of the tree at `tree`: path relative to it, and
/// contents. The kernel tools are this workspace's.
fn generated(tree: &Path) -> io::Result<Files> {
    let (text, spec) = read_spec(tree)?;
    let mut files = ynl::generate(&root(), &text, &spec.protocol)?;
    files.extend(generated_here(tree)?);
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

/// The files of `files` whose copy under `root` differs or is missing.
fn stale(root: &Path, files: &Files) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|(rel, want)| std::fs::read(root.join(rel)).ok().as_deref() != Some(&want[..]))
        .map(|(rel, _)| rel.clone())
        .collect()
}

fn write(dir: &Path, files: &Files, quiet: bool) -> io::Result<()> {
    for (rel, data) in files {
        let path = dir.join(rel);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&path, data)?;
        if !quiet {
            println!("wrote {}", rel.display());
        }
    }
    Ok(())
}

fn gen(root: &Path) -> io::Result<ExitCode> {
    write(root, &generated(root)?, false)?;
    release::update_changelog(root, &workspace_version(root)?)?;
    Ok(ExitCode::SUCCESS)
}

fn set_version(root: &Path, new: &str) -> io::Result<ExitCode> {
    if !release::valid_version(new) {
        let _ = writeln!(
            io::stderr(),
            "xtask: {new:?} is not a version (MAJOR.MINOR.PATCH)"
        );
        return Ok(ExitCode::from(2));
    }
    let old = workspace_version(root)?;
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)?;
    std::fs::write(&path, release::with_version(&text, &old, new))?;
    if workspace_version(root)? != new {
        return Err(io::Error::other(format!(
            "{}: version not replaced",
            path.display()
        )));
    }
    println!("Cargo.toml: {old} -> {new}; now run `cargo xtask gen`");
    Ok(ExitCode::SUCCESS)
}

/// Regenerates into a temporary tree and compares it with `root`.
fn check(root: &Path) -> io::Result<ExitCode> {
    let files = generated(root)?;
    let tmp = temp::TempDir::new("check")?;
    write(tmp.path(), &files, true)?;
    let bad = stale(root, &files);
    let mismatched = release::mismatches(root, &workspace_version(root)?)?;
    for m in &mismatched {
        let _ = writeln!(io::stderr(), "version: {m}");
    }
    for rel in &bad {
        let _ = writeln!(
            io::stderr(),
            "stale: {} differs from what `cargo xtask gen` makes of {SPEC_PATH} and Cargo.toml",
            rel.display()
        );
        // Best effort: the diff helps, its absence does not change the verdict.
        let _ = Command::new("diff")
            .arg("-u")
            .arg(root.join(rel))
            .arg(tmp.path().join(rel))
            .status();
    }
    if bad.is_empty() && mismatched.is_empty() {
        println!(
            "{} generated files up to date, versions agree with Cargo.toml",
            files.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        if !bad.is_empty() {
            let _ = writeln!(
                io::stderr(),
                "{} stale generated file(s): run `cargo xtask gen` and commit the result",
                bad.len()
            );
        }
        Ok(ExitCode::FAILURE)
    }
}

fn usage() -> io::Result<ExitCode> {
    let _ = writeln!(
        io::stderr(),
        "usage: cargo xtask gen|check [--root DIR]\n       \
         cargo xtask set-version VERSION [--root DIR]\n       \
         cargo xtask deb [--out DIR] [--root DIR]"
    );
    Ok(ExitCode::from(2))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // TASK [ARG] [--root DIR] [--out DIR]
    let (mut words, mut tree, mut out) = (Vec::new(), None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--root" => tree = it.next().map(PathBuf::from),
            "--out" => out = it.next().map(PathBuf::from),
            _ => words.push(a.as_str()),
        }
    }
    let tree = tree.unwrap_or_else(root);
    let r = match words[..] {
        ["gen"] => gen(&tree),
        ["check"] => check(&tree),
        ["deb"] => release::deb(&tree, out),
        ["set-version", v] => set_version(&tree, v),
        _ => usage(),
    };
    r.unwrap_or_else(|e| {
        let _ = writeln!(io::stderr(), "xtask: {e}");
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn generated_files_are_fresh() {
        let root = super::root();
        let s = super::stale(&root, &super::generated_here(&root).unwrap());
        assert!(
            s.is_empty(),
            "stale generated files {s:?}: run `cargo xtask gen` and commit the result"
        );
    }

    #[test]
    fn a_hand_edit_is_stale() {
        let root = super::root();
        let files = super::generated_here(&root).unwrap();
        let tmp = super::temp::TempDir::new("test").unwrap();
        super::write(tmp.path(), &files, true).unwrap();
        assert!(super::stale(tmp.path(), &files).is_empty());
        let rs = tmp.path().join("genl-proto/src/generated.rs");
        let text = std::fs::read_to_string(&rs).unwrap();
        std::fs::write(&rs, text.replace("Msg = 2,", "Msg = 20,")).unwrap();
        assert_eq!(
            super::stale(tmp.path(), &files),
            [Path::new("genl-proto/src/generated.rs")]
        );
    }

    #[test]
    fn version_comes_from_cargo_toml() {
        let root = super::root();
        let v = super::workspace_version(&root).unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        assert!(
            readme.contains(&format!("dkms install genl_echo/{v}")),
            "README.md's dkms install line does not name version {v}"
        );
    }

    #[test]
    fn dkms_refuses_kernels_before_6_1() {
        let re = super::render::DKMS_KERNEL_RE;
        let ok = [
            "6.1.0-57-amd64",
            "6.12.95+deb12-amd64",
            "6.1",
            "6.9.0",
            "6.10.3-arch1-1",
            "7.0.0",
            "10.2.1",
        ];
        let refused = [
            "6.0.19-amd64",
            "5.15.0-91-generic",
            "4.19.0-27-amd64",
            "6",
            "6.01.0",
        ];
        for (kver, want) in ok
            .iter()
            .map(|k| (k, true))
            .chain(refused.iter().map(|k| (k, false)))
        {
            // DKMS matches it with bash's [[ =~ ]]: test with bash itself.
            let st = std::process::Command::new("bash")
                .args(["-c", "[[ $1 =~ $2 ]]", "-", kver, re])
                .status()
                .expect("run bash");
            assert_eq!(st.success(), want, "{kver}");
        }
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
