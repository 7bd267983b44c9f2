//! Boot assets: `coregen serve --assets` answers byte ranges as curl sees
//! them and refuses every path that leaves the folder or names a hidden
//! file; `coregen assets fetch` reads a small stream document from a local
//! `coregen serve --assets` (never the internet), resumes a partial
//! download (and starts over with a bare server that ignores `Range`),
//! keeps a download that broke off as its `.part` only, and leaves no file
//! under its final name when a checksum differs; `coregen assets verify` names each bad or missing file;
//! `[boot]` names local assets by file name; and `pxe` and `validate`
//! refuse live images of different releases.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{
    Serve, coregen, edit_file, error_of, example_project, fresh_project, needs, run_err, run_ok,
};

const RELEASE: &str = "42.20250901.3.0";

/// Bytes that differ at every offset modulo a large prime, so that a
/// range from the wrong place cannot pass for the right one.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 251) as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

/// curl with `args`: (status, response headers lowercased, body bytes).
fn curl_full(url: &str, args: &[&str]) -> (u16, String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers");
    let body = dir.path().join("body");
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--write-out", "%{http_code}"])
        .arg("--dump-header")
        .arg(&headers)
        .arg("--output")
        .arg(&body)
        .args(args)
        .arg(url)
        .output()
        .expect("curl starts");
    let status = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let headers = fs::read_to_string(&headers)
        .unwrap_or_default()
        .to_ascii_lowercase();
    (status, headers, fs::read(&body).unwrap_or_default())
}

fn header<'h>(headers: &'h str, name: &str) -> Option<&'h str> {
    headers
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

/// A project whose `serve` serves `assets/` (created empty) over HTTPS
/// and plain HTTP.
fn serving(project: &Path) -> Serve {
    fs::create_dir_all(project.join("assets")).unwrap();
    let assets = project.join("assets");
    Serve::start(
        project,
        &[
            "--http-listen",
            "127.0.0.1:0",
            "--assets",
            assets.to_str().unwrap(),
        ],
    )
}

#[test]
fn serve_answers_byte_ranges_with_the_right_status_lengths_and_bytes() {
    if !needs(&["curl"]) {
        return;
    }
    let project = fresh_project();
    let serve = serving(project.path());
    let len = 300_000;
    let data = pattern(len, 3);
    fs::write(project.path().join("assets/rootfs.img"), &data).unwrap();
    let url = format!("http://{}/assets/rootfs.img", serve.plain.as_ref().unwrap());

    // Whole, over plain HTTP and over HTTPS.
    let (status, headers, body) = curl_full(&url, &[]);
    assert_eq!(status, 200, "{headers}");
    assert_eq!(header(&headers, "content-length"), Some("300000"));
    assert_eq!(header(&headers, "accept-ranges"), Some("bytes"));
    assert_eq!(body, data);
    let ca = serve.ca.to_str().unwrap().to_string();
    let https = format!("{}/assets/rootfs.img", serve.url);
    let (status, _, body) = curl_full(&https, &["--cacert", &ca]);
    assert_eq!(status, 200);
    assert_eq!(body, data);

    // HEAD: the length, no body.
    let (status, headers, body) = curl_full(&url, &["--head"]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-length"), Some("300000"));
    assert!(
        body.len() < 1000,
        "only the headers (curl writes them as the output)"
    );

    // One range, in each of its three forms, clamped at the end.
    for (range, first, last) in [
        ("100-199", 100, 199),
        ("299990-", 299_990, 299_999),
        ("-5", 299_995, 299_999),
        ("70000-999999", 70_000, 299_999),
    ] {
        let (status, headers, body) =
            curl_full(&url, &["--header", &format!("Range: bytes={range}")]);
        assert_eq!(status, 206, "{range}: {headers}");
        assert_eq!(
            header(&headers, "content-range"),
            Some(format!("bytes {first}-{last}/300000").as_str()),
            "{range}"
        );
        let count = last - first + 1;
        assert_eq!(
            header(&headers, "content-length"),
            Some(count.to_string().as_str())
        );
        assert_eq!(body, data[first..=last], "{range}");
    }
    let (status, _, body) = curl_full(&https, &["--cacert", &ca, "--range", "10-19"]);
    assert_eq!((status, body.as_slice()), (206, &data[10..20]));

    // Past the end: 416 with the length.
    let (status, headers, body) = curl_full(&url, &["--range", "300000-"]);
    assert_eq!(status, 416, "{headers}");
    assert_eq!(header(&headers, "content-range"), Some("bytes */300000"));
    assert!(error_of(&String::from_utf8(body).unwrap()).contains("outside the file"));

    // Several ranges: the whole file.
    let (status, headers, body) = curl_full(&url, &["--range", "0-9,20-29"]);
    assert_eq!(status, 200, "{headers}");
    assert_eq!(body, data);

    // An empty file: 200 with no bytes, and any range unsatisfiable.
    fs::write(project.path().join("assets/empty"), b"").unwrap();
    let empty = url.replace("rootfs.img", "empty");
    let (status, headers, body) = curl_full(&empty, &[]);
    assert_eq!(
        (status, header(&headers, "content-length")),
        (200, Some("0"))
    );
    assert!(body.is_empty());
    let (status, _, _) = curl_full(&empty, &["--range", "0-"]);
    assert_eq!(status, 416);
}

#[test]
fn serve_refuses_paths_outside_the_folder_hidden_and_odd_files() {
    if !needs(&["curl"]) {
        return;
    }
    let project = fresh_project();
    let serve = serving(project.path());
    let assets = project.path().join("assets");
    fs::write(assets.join("kernel"), b"k").unwrap();
    fs::write(assets.join(".secret"), b"s").unwrap();
    fs::write(assets.join("kernel.part"), b"half").unwrap();
    fs::create_dir_all(assets.join("sub")).unwrap();
    fs::write(assets.join("sub/initramfs"), b"i").unwrap();
    fs::write(project.path().join("outside"), b"o").unwrap();
    std::os::unix::fs::symlink(project.path().join("outside"), assets.join("escape")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", assets.join("passwd")).unwrap();
    std::os::unix::fs::symlink(".secret", assets.join("to-secret")).unwrap();
    std::os::unix::fs::symlink("kernel", assets.join("alias")).unwrap();
    run_ok(Command::new("mkfifo").arg(assets.join("fifo")));
    let plain = serve.plain.clone().unwrap();
    let get = |path: &str| {
        let (status, headers, body) =
            curl_full(&format!("http://{plain}{path}"), &["--path-as-is"]);
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    };

    let (status, _, body) = get("/assets/sub/initramfs");
    assert_eq!((status, body.as_str()), (200, "i"));
    let (status, _, body) = get("/assets/alias");
    assert_eq!(
        (status, body.as_str()),
        (200, "k"),
        "a symlink inside is fine"
    );

    for (path, expected) in [
        ("/assets/../outside", 400),
        ("/assets/sub/../../outside", 400),
        ("/assets/%2e%2e/outside", 400),
        ("/assets/%2Fetc%2Fpasswd", 400),
        ("/assets//etc/passwd", 400),
        ("/assets/.secret", 400),
        ("/assets/kernel.part", 400),
        ("/assets/kernel%00", 400),
        ("/assets/escape", 404),
        ("/assets/passwd", 404),
        ("/assets/to-secret", 404),
        ("/assets/sub", 404),
        ("/assets/fifo", 404),
        ("/assets/missing", 404),
    ] {
        let (status, headers, body) = get(path);
        assert_eq!(status, expected, "{path}: {body}");
        assert!(
            header(&headers, "content-type").is_some_and(|t| t.starts_with("application/json")),
            "{path}: {headers}"
        );
        let error = error_of(&body);
        assert!(!body.contains("root:"), "{path}: {body}");
        assert!(!error.is_empty());
    }
}

#[test]
fn serve_warns_of_boot_images_it_will_not_serve() {
    let project = fresh_project();
    let name = image("kernel");
    edit_file(
        project.path(),
        "hosts/cluster.toml",
        &format!("{BUILDS}/{name}"),
        &name,
    );
    // The warnings come before the line that says it serves, so the log
    // holds them once it has started.
    let log = Serve::start(project.path(), &[]).kill();
    assert!(
        log.contains(&format!(
            "warning: [boot] kernel is the asset {name}, but this server runs without --assets"
        )),
        "{log}"
    );
    let log = serving(project.path()).kill();
    assert!(
        log.contains(&format!(
            "warning: [boot] kernel is the asset {name}, which "
        )),
        "{log}"
    );
    fs::write(project.path().join("assets").join(&name), b"k").unwrap();
    let log = serving(project.path()).kill();
    assert!(!log.contains("warning: [boot]"), "{log}");
}

#[test]
fn without_assets_serve_has_no_assets_route() {
    if !needs(&["curl"]) {
        return;
    }
    let project = fresh_project();
    fs::create_dir_all(project.path().join("assets")).unwrap();
    fs::write(project.path().join("assets/kernel"), b"k").unwrap();
    let serve = Serve::start(project.path(), &["--http-listen", "127.0.0.1:0"]);
    let (status, body) = serve.http("/assets/kernel");
    assert_eq!(status, 404);
    assert_eq!(error_of(&body), "no such endpoint");
}

// ---- fetch and verify ----

/// The three small images of the test stream: (kind, name, bytes), the
/// same bytes on every call.
fn images() -> Vec<(&'static str, String, Vec<u8>)> {
    [
        ("kernel", "live-kernel.x86_64", 150_000),
        ("initramfs", "live-initramfs.x86_64.img", 90_000),
        ("rootfs", "live-rootfs.x86_64.img", 700_000),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (kind, suffix, len))| {
        let name = format!("fedora-coreos-{RELEASE}-{suffix}");
        (kind, name, pattern(len, i as u8 + 1))
    })
    .collect()
}

/// A stream document naming `images` at `base/b/NAME`, each with its true
/// SHA-256 unless `wrong_sum` names its kind.
fn stream_doc(base: &str, images: &[(&str, String, Vec<u8>)], wrong_sum: Option<&str>) -> String {
    let mut pxe = serde_json::Map::new();
    for (kind, name, bytes) in images {
        let sum = if wrong_sum == Some(*kind) {
            "0".repeat(64)
        } else {
            sha256(bytes)
        };
        pxe.insert(
            kind.to_string(),
            serde_json::json!({ "location": format!("{base}/b/{name}"), "sha256": sum }),
        );
    }
    serde_json::json!({
        "stream": "stable",
        "architectures": { "x86_64": { "artifacts": { "metal": {
            "release": RELEASE,
            "formats": { "pxe": pxe }
        }}}}
    })
    .to_string()
}

/// A mirror: a stream document at `/assets/streams/stable.json` of a
/// `coregen serve --assets`, naming the three [`images`] beside it, each
/// with its true SHA-256 unless `wrong_sum` names it.
struct Mirror {
    _project: tempfile::TempDir,
    serve: Serve,
    images: Vec<(String, Vec<u8>)>,
}

impl Mirror {
    fn start(wrong_sum: Option<&str>) -> Mirror {
        let project = fresh_project();
        let serve = serving(project.path());
        let dir = project.path().join("assets");
        let base = format!("http://{}/assets", serve.plain.as_ref().unwrap());
        let images = images();
        fs::create_dir_all(dir.join("b")).unwrap();
        for (_, name, bytes) in &images {
            fs::write(dir.join("b").join(name), bytes).unwrap();
        }
        fs::create_dir_all(dir.join("streams")).unwrap();
        fs::write(
            dir.join("streams/stable.json"),
            stream_doc(&base, &images, wrong_sum),
        )
        .unwrap();
        Mirror {
            _project: project,
            serve,
            images: images.into_iter().map(|(_, n, b)| (n, b)).collect(),
        }
    }

    fn stream_url(&self) -> String {
        format!(
            "http://{}/assets/streams/stable.json",
            self.serve.plain.as_ref().unwrap()
        )
    }

    /// `coregen assets fetch` from this mirror into `dir`.
    fn fetch(&self, project: &Path, dir: &Path) -> Command {
        let mut cmd = coregen(project);
        cmd.args(["assets", "fetch", "--stream", "stable", "--arch", "x86_64"])
            .args(["--stream-url", &self.stream_url()])
            .arg("--assets")
            .arg(dir);
        cmd
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn fetch_downloads_checks_and_resumes_a_partial_file() {
    let mirror = Mirror::start(None);
    let project = example_project();
    let dir = project.path().join("assets");
    fs::create_dir_all(&dir).unwrap();
    // A download that broke off after 50,000 bytes of the rootfs.
    let (rootfs, bytes) = &mirror.images[2];
    fs::write(dir.join(format!("{rootfs}.part")), &bytes[..50_000]).unwrap();

    let out = run_ok(&mut mirror.fetch(project.path(), &dir));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("resuming {rootfs} from byte 50000")),
        "{stderr}"
    );
    for (name, bytes) in &mirror.images {
        assert_eq!(&fs::read(dir.join(name)).unwrap(), bytes, "{name}");
    }
    let mut expected: Vec<String> = mirror.images.iter().map(|(n, _)| n.clone()).collect();
    expected.push("coregen-assets.json".into());
    expected.sort();
    assert_eq!(listing(&dir), expected, "no .part left");
    // The mirror sent the rest of the rootfs as a range.
    let log = mirror.serve.log();
    assert!(
        log.contains(&format!("GET /assets/b/{rootfs} 206 650000 ")),
        "{log}"
    );

    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("coregen-assets.json")).unwrap()).unwrap();
    assert_eq!(manifest["release"], RELEASE);
    assert_eq!(manifest["stream"], "stable");
    assert_eq!(manifest["arch"], "x86_64");
    assert_eq!(manifest["files"][2]["kind"], "rootfs");
    assert_eq!(manifest["files"][2]["sha256"], sha256(bytes).as_str());

    // Again: everything is there, nothing is downloaded.
    let out = run_ok(&mut mirror.fetch(project.path(), &dir));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("is there already, checksum ok").count(),
        3,
        "{stderr}"
    );
    assert!(!stderr.contains("downloading"), "{stderr}");
}

#[test]
fn fetch_starts_over_when_the_part_is_wrong_and_deletes_what_does_not_match() {
    let mirror = Mirror::start(None);
    let project = example_project();
    let dir = project.path().join("assets");
    fs::create_dir_all(&dir).unwrap();
    // A part whose first bytes are not the file's: resuming it gives a
    // file with the wrong checksum, which must not get the final name.
    let (kernel, _) = &mirror.images[0];
    fs::write(dir.join(format!("{kernel}.part")), vec![0xAAu8; 1000]).unwrap();
    let stderr = run_err(&mut mirror.fetch(project.path(), &dir));
    assert!(stderr.contains(kernel.as_str()), "{stderr}");
    assert!(stderr.contains("SHA-256"), "{stderr}");
    assert!(stderr.contains(&sha256(&mirror.images[0].1)), "{stderr}");
    assert!(
        !dir.join(kernel).exists(),
        "a wrong file under its final name"
    );
    assert!(
        !dir.join(format!("{kernel}.part")).exists(),
        "the bad part is kept"
    );
    assert!(!dir.join("coregen-assets.json").exists());
    // The next run downloads it whole, and all is well.
    run_ok(&mut mirror.fetch(project.path(), &dir));
    assert_eq!(fs::read(dir.join(kernel)).unwrap(), mirror.images[0].1);
}

#[test]
fn fetch_refuses_an_image_whose_checksum_is_not_the_streams() {
    let mirror = Mirror::start(Some("initramfs"));
    let project = example_project();
    let dir = project.path().join("assets");
    let stderr = run_err(&mut mirror.fetch(project.path(), &dir));
    let (initramfs, bytes) = &mirror.images[1];
    assert!(
        stderr.contains(&format!(
            "{initramfs}: SHA-256 {}, but the stream says {}",
            sha256(bytes),
            "0".repeat(64)
        )),
        "{stderr}"
    );
    assert_eq!(
        listing(&dir),
        [mirror.images[0].0.clone()],
        "only the kernel, checked, is there: no initramfs, no part, no manifest"
    );
}

#[test]
fn fetch_defaults_to_the_projects_assets_folder_and_verify_names_each_bad_file() {
    let mirror = Mirror::start(None);
    let project = example_project();
    run_ok(coregen(project.path()).args(["assets", "fetch", "--stream-url", &mirror.stream_url()]));
    let dir = project.path().join("assets");
    let out = run_ok(coregen(project.path()).args(["assets", "verify"]));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!("ok: 3 file(s) of Fedora CoreOS {RELEASE}")),
        "{stdout}"
    );

    let (kernel, _) = &mirror.images[0];
    let (rootfs, _) = &mirror.images[2];
    let mut changed =
        fs::read(dir.join(rootfs)).unwrap_or_else(|e| panic!("{rootfs}: {e}: {:?}", listing(&dir)));
    changed[1234] ^= 1;
    fs::write(dir.join(rootfs), changed).unwrap();
    fs::remove_file(dir.join(kernel)).unwrap();
    let stderr = run_err(coregen(project.path()).args(["assets", "verify"]));
    assert!(stderr.contains(&format!("{kernel}: missing")), "{stderr}");
    assert!(stderr.contains(&format!("{rootfs}: SHA-256 ")), "{stderr}");
    assert!(!stderr.contains(&mirror.images[1].0), "{stderr}");
    assert!(stderr.contains("2 of 3 file(s)"), "{stderr}");

    let empty = tempfile::tempdir().unwrap();
    let stderr = run_err(
        coregen(project.path())
            .args(["assets", "verify", "--assets"])
            .arg(empty.path()),
    );
    assert!(stderr.contains("coregen-assets.json"), "{stderr}");
}

// ---- [boot] and releases ----

const BUILDS: &str =
    "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/42.20250901.3.0/x86_64";

/// The example's image names, `kind` being `kernel`, `initramfs` or
/// `rootfs`.
fn image(kind: &str) -> String {
    match kind {
        "kernel" => format!("fedora-coreos-{RELEASE}-live-kernel.x86_64"),
        _ => format!("fedora-coreos-{RELEASE}-live-{kind}.x86_64.img"),
    }
}

#[test]
fn boot_names_local_images_by_file_name_under_public_url() {
    let project = example_project();
    let cluster = "hosts/cluster.toml";
    for kind in ["kernel", "initramfs", "rootfs"] {
        let name = image(kind);
        edit_file(project.path(), cluster, &format!("{BUILDS}/{name}"), &name);
    }
    run_ok(coregen(project.path()).args(["pxe", "--host", "node1"]));
    let script = fs::read_to_string(project.path().join("out/node1.ipxe")).unwrap();
    let assets = "http://10.0.0.2:8080/assets";
    assert!(
        script.contains(&format!("\nkernel {assets}/{} ", image("kernel"))),
        "{script}"
    );
    assert!(
        script.contains(&format!(
            "\ninitrd --name main {assets}/{}\n",
            image("initramfs")
        )),
        "{script}"
    );
    assert!(
        script.contains(&format!(
            " coreos.live.rootfs_url={assets}/{} ",
            image("rootfs")
        )),
        "{script}"
    );

    // A name that could leave the folder is refused where it is written.
    edit_file(
        project.path(),
        cluster,
        &format!("kernel = \"{}\"", image("kernel")),
        "kernel = \"../vmlinuz\"",
    );
    let text = fs::read_to_string(project.path().join(cluster)).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("kernel = "))
        .unwrap()
        + 1;
    let stderr = run_err(coregen(project.path()).arg("validate"));
    assert!(
        stderr.contains(&format!("hosts/cluster.toml:{line}:10: boot.kernel: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"../vmlinuz\" is neither a boot URL"),
        "{stderr}"
    );
}

#[test]
fn pxe_and_validate_refuse_images_of_different_releases() {
    let project = example_project();
    let older = "fedora-coreos-42.20250815.3.0-live-rootfs.x86_64.img";
    edit_file(
        project.path(),
        "hosts/cluster.toml",
        &format!("{BUILDS}/{}", image("rootfs")),
        &format!("{BUILDS}/{older}"),
    );
    let line = fs::read_to_string(project.path().join("hosts/cluster.toml"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("rootfs = "))
        .unwrap()
        + 1;
    for args in [&["pxe", "--all"][..], &["validate"]] {
        let stderr = run_err(coregen(project.path()).args(args));
        assert!(
            stderr.contains(&format!("hosts/cluster.toml:{line}:10: boot.rootfs: ")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "different Fedora CoreOS releases: kernel {} ({RELEASE}), initramfs {} \
                 ({RELEASE}), rootfs {older} (42.20250815.3.0)",
                image("kernel"),
                image("initramfs")
            )),
            "{args:?}: {stderr}"
        );
    }
    assert!(!project.path().join("out").exists(), "pxe wrote something");
}

#[test]
fn pxe_reads_the_release_of_an_image_named_by_file_name_from_the_manifest() {
    let project = example_project();
    // A kernel whose name tells no release, served from assets/.
    edit_file(
        project.path(),
        "hosts/cluster.toml",
        &format!("{BUILDS}/{}", image("kernel")),
        "vmlinuz",
    );
    let manifest = |release: &str| {
        serde_json::json!({
            "stream": "stable", "arch": "x86_64", "release": release,
            "files": [{ "kind": "kernel", "name": "vmlinuz", "sha256": "0".repeat(64) }]
        })
        .to_string()
    };
    common::write_file(
        project.path(),
        "assets/coregen-assets.json",
        &manifest("41.20250101.3.0"),
    );
    let stderr = run_err(coregen(project.path()).args(["pxe", "--all"]));
    assert!(
        stderr.contains("kernel vmlinuz (41.20250101.3.0), initramfs"),
        "{stderr}"
    );
    assert!(stderr.contains("assets/coregen-assets.json"), "{stderr}");

    common::write_file(
        project.path(),
        "assets/coregen-assets.json",
        &manifest(RELEASE),
    );
    run_ok(coregen(project.path()).args(["pxe", "--all"]));
    let script = fs::read_to_string(project.path().join("out/node1.ipxe")).unwrap();
    assert!(
        script.contains("\nkernel http://10.0.0.2:8080/assets/vmlinuz "),
        "{script}"
    );
}

// ---- A bare server, for what `coregen serve` never does ----

/// A bare HTTP/1.1 server on 127.0.0.1 that answers a GET of each path in
/// `files` with 200 and the whole file, whatever `Range` asks (as a server
/// without range support does), and 404 otherwise; with `cut`, the answer
/// for that path stops after so many bytes of its body and the connection
/// closes (a download broken off). Each request line, with its `Range`
/// header, goes into `requests`.
struct Bare {
    url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Bare {
    /// Serves what `files` makes of the server's own URL.
    fn start(
        files: impl FnOnce(&str) -> Vec<(String, Vec<u8>)>,
        cut: Option<(String, usize)>,
    ) -> Bare {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let files = files(&url);
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    let l = line.trim_end();
                    if request.is_empty() {
                        request = l.to_string();
                    } else if l.to_ascii_lowercase().starts_with("range:") {
                        request = format!("{request} [{l}]");
                    }
                    line.clear();
                }
                log.lock().unwrap().push(request.clone());
                let path = request.split(' ').nth(1).unwrap_or_default();
                let answer = match files.iter().find(|(p, _)| p == path) {
                    Some((p, body)) => {
                        let send = match &cut {
                            Some((c, n)) if c == p => &body[..*n],
                            _ => &body[..],
                        };
                        let mut a = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        a.extend_from_slice(send);
                        a
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&answer);
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        });
        Bare { url, requests }
    }

    /// A bare server of the test stream at `/stable.json` and its
    /// [`images`] at `/b/NAME`, the answer for `cut`'s kind broken off.
    fn stream(cut: Option<(&str, usize)>) -> Bare {
        let images = images();
        let cut = cut.map(|(kind, n)| {
            let name = &images.iter().find(|(k, _, _)| *k == kind).unwrap().1;
            (format!("/b/{name}"), n)
        });
        Bare::start(
            |base| {
                let mut files: Vec<(String, Vec<u8>)> = images
                    .iter()
                    .map(|(_, name, bytes)| (format!("/b/{name}"), bytes.clone()))
                    .collect();
                files.push((
                    "/stable.json".into(),
                    stream_doc(base, &images, None).into_bytes(),
                ));
                files
            },
            cut,
        )
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// `coregen assets fetch` of this server's stream into `dir`.
    fn fetch(&self, project: &Path, dir: &Path) -> Command {
        let mut cmd = coregen(project);
        cmd.args(["assets", "fetch", "--stream-url"])
            .arg(format!("{}/stable.json", self.url))
            .arg("--assets")
            .arg(dir);
        cmd
    }
}

#[test]
fn fetch_starts_over_when_the_server_ignores_the_range() {
    let bare = Bare::stream(None);
    let project = example_project();
    let dir = project.path().join("assets");
    fs::create_dir_all(&dir).unwrap();
    let (_, rootfs, bytes) = &images()[2];
    fs::write(dir.join(format!("{rootfs}.part")), &bytes[..50_000]).unwrap();
    let out = run_ok(&mut bare.fetch(project.path(), &dir));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "the server sends {rootfs} whole (no range): starting over"
        )),
        "{stderr}"
    );
    assert_eq!(&fs::read(dir.join(rootfs)).unwrap(), bytes);
    assert!(!dir.join(format!("{rootfs}.part")).exists());
    let asked = bare.requests();
    assert!(
        asked.contains(&format!("GET /b/{rootfs} HTTP/1.1 [range: bytes=50000-]")),
        "{asked:?}"
    );
}

#[test]
fn a_download_broken_off_keeps_its_part_only_and_the_next_run_resumes_it() {
    let bare = Bare::stream(Some(("rootfs", 123_456)));
    let project = example_project();
    let dir = project.path().join("assets");
    let stderr = run_err(&mut bare.fetch(project.path(), &dir));
    let images = images();
    let (_, rootfs, bytes) = &images[2];
    assert!(stderr.contains("broke off"), "{stderr}");
    assert!(stderr.contains(&format!("{rootfs}.part")), "{stderr}");
    assert!(
        !dir.join(rootfs).exists(),
        "a partial file under its final name"
    );
    assert_eq!(
        fs::read(dir.join(format!("{rootfs}.part"))).unwrap(),
        bytes[..123_456]
    );
    assert!(!dir.join("coregen-assets.json").exists());

    // The same stream from a server with ranges: only the rest is sent.
    let mirror = Mirror::start(None);
    let out = run_ok(&mut mirror.fetch(project.path(), &dir));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("resuming {rootfs} from byte 123456")),
        "{stderr}"
    );
    assert_eq!(&fs::read(dir.join(rootfs)).unwrap(), bytes);
    assert!(
        mirror
            .serve
            .log()
            .contains(&format!(" 206 {} ", bytes.len() - 123_456)),
        "{}",
        mirror.serve.log()
    );
    run_ok(coregen(project.path()).args(["assets", "verify"]));
}

#[test]
fn fetch_fails_on_a_missing_stream_without_writing_anything() {
    let bare = Bare::start(|_| Vec::new(), None);
    let project = example_project();
    let dir = project.path().join("assets");
    let stderr = run_err(&mut bare.fetch(project.path(), &dir));
    assert!(stderr.contains("the server answered 404"), "{stderr}");
    assert!(!dir.exists());
}
