//! coregen describing itself: shell completions that the shells accept,
//! man pages that `man` renders without a warning, one per command.

mod common;

use std::process::Command;

use common::{coregen, needs, run_ok};

#[test]
fn the_bash_completions_are_valid_bash_and_the_others_are_written() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run_ok(coregen(dir.path()).args(["completions", shell]));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("coregen"), "{shell}: {script}");
        assert!(script.contains("render"), "{shell}: no render command");
        if shell == "bash" && needs(&["bash"]) {
            let path = dir.path().join("coregen.bash");
            std::fs::write(&path, &script).unwrap();
            run_ok(Command::new("bash").arg("-n").arg(&path));
        }
    }
    let err = common::run_err(coregen(dir.path()).args(["completions", "tcsh"]));
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn each_command_has_a_man_page_that_man_renders_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    run_ok(coregen(dir.path()).args(["man", pages.to_str().unwrap()]));
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for expected in [
        "coregen.1",
        "coregen-render.1",
        "coregen-serve.1",
        "coregen-host-reset.1",
        "coregen-host-token.1",
        "coregen-ca-init.1",
        "coregen-man.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("coregen") && n.ends_with(".1")),
        "{names:?}"
    );
    if !needs(&["man"]) {
        return;
    }
    for name in &names {
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(pages.join(name))
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {out:?}");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(warnings.trim().is_empty(), "{name}: {warnings}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("NAME"), "{name}: {text}");
    }
}

/// `template list` says where each template comes from and which wins;
/// `template show` prints the winner, or the built-in to copy and change.
#[test]
fn template_list_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("cluster");
    run_ok(coregen(dir.path()).arg("init").arg(&project));
    common::write_file(&project, "templates/zincati-updates.toml.hbs", "# mine\n");
    let out = run_ok(coregen(&project).args(["template", "list"]));
    let list = String::from_utf8(out.stdout).unwrap();
    let row = |name: &str| {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} in {list}"))
            .to_string()
    };
    assert!(row("etcd-member.service").ends_with("built-in"), "{list}");
    assert!(row("motd").contains("templates/motd.hbs"), "{list}");
    assert!(
        row("zincati-updates.toml").contains("(overrides the built-in)"),
        "{list}"
    );

    let shown = run_ok(coregen(&project).args(["template", "show", "zincati-updates.toml"]));
    assert_eq!(String::from_utf8(shown.stdout).unwrap(), "# mine\n");
    let built_in =
        run_ok(coregen(&project).args(["template", "show", "--built-in", "zincati-updates.toml"]));
    let text = String::from_utf8(built_in.stdout).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(format!(
            "{}/templates/zincati-updates.toml.hbs",
            common::REPO
        ))
        .unwrap()
    );
    let err = common::run_err(coregen(&project).args(["template", "show", "zincati-update"]));
    assert!(err.contains("did you mean `zincati-updates.toml`"), "{err}");
}

/// `render --all` shows a progress bar on a terminal once the work takes
/// over a second, and none when its output is not a terminal.
#[test]
fn progress_shows_on_a_terminal_only() {
    if !needs(&["script"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let project = common::generated_project(dir.path(), 3000);
    let coregen_bin = env!("CARGO_BIN_EXE_coregen");
    let plain = run_ok(coregen(&project).args(["render", "--all", "--compact", "--redact"]));
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(
        !stderr.contains("hosts ("),
        "progress without a terminal: {stderr}"
    );

    std::fs::remove_dir_all(project.join("out")).unwrap();
    // util-linux's script(1) gives the command a terminal.
    let command = format!(
        "{coregen_bin} -C {} render --all --compact --redact",
        project.display()
    );
    let out = run_ok(Command::new("script").args(["-qec", &command, "/dev/null"]));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("/3000 hosts ("),
        "no progress on a terminal: {shown:.300}"
    );
}
