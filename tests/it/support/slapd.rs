//! Debian's `slapd` with a test directory: a throw-away `slapd.conf` and
//! mdb database in a temporary directory, loaded with `slapadd`, listening
//! on free loopback ports (ldap:// with STARTTLS, and ldaps://) with a
//! certificate of a test CA, run as the current user and killed with the
//! value.
//!
//! The directory (`dc=example,dc=org`):
//! - `ou=people`: alice (it-staff), bob (teaching-support), carol (both),
//!   erin (only the unmapped `library` group), and two entries with uid
//!   `dup`; each password is `<uid>-password`.
//! - `ou=groups`: groupOfNames `it-staff`, `teaching-support`, `library`.
//! - `ou=services`: `cn=belfry`, the search account (password
//!   [`SERVICE_PASSWORD`]). Anonymous clients may bind but read nothing:
//!   people are found through the search account only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::scrape_client::Pki;
use crate::support::{ChildGuard, free_port, peer_binary, wait_for};

pub const BASE_DN: &str = "dc=example,dc=org";
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
pub const GROUPS_DN: &str = "ou=groups,dc=example,dc=org";
pub const SERVICE_DN: &str = "cn=belfry,ou=services,dc=example,dc=org";
pub const SERVICE_PASSWORD: &str = "search-account-password";
pub const IT_STAFF_DN: &str = "cn=it-staff,ou=groups,dc=example,dc=org";
pub const TEACHING_SUPPORT_DN: &str = "cn=teaching-support,ou=groups,dc=example,dc=org";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PASSWORD: &str = "root-password";

/// A user's password in the test directory.
pub fn password(uid: &str) -> String {
    format!("{uid}-password")
}

pub struct Slapd {
    /// `ldap://127.0.0.1:PORT` (STARTTLS offered).
    pub url: String,
    /// `ldaps://127.0.0.1:PORT`.
    pub ldaps_url: String,
    /// The test CA that signed the server's certificate.
    pub ca_file: PathBuf,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

/// How the server treats binds over a connection without TLS.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    Allowed,
    /// `security simple_bind=128`: a simple bind needs TLS, so a client
    /// that skipped STARTTLS is refused (confidentialityRequired).
    BindsRefused,
}

impl Slapd {
    /// None (a skip) when slapd is not installed, as `peer_binary`.
    pub fn start(plain: Plain) -> Option<Slapd> {
        let slapd = peer_binary("slapd")?;
        let slapadd = peer_binary("slapadd")?;
        let whoami = peer_binary("ldapwhoami")?;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("db")).unwrap();
        let pki = Pki::new(root);
        let leaf = pki.issue("server", &["127.0.0.1", "localhost"], false);
        let conf = root.join("slapd.conf");
        std::fs::write(
            &conf,
            slapd_conf(root, &pki.ca_file(), &leaf.cert_file, &leaf.key_file, plain),
        )
        .unwrap();
        let ldif = root.join("directory.ldif");
        std::fs::write(&ldif, directory_ldif()).unwrap();
        let out = Command::new(&slapadd)
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&ldif)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (port, tls_port) = (free_port(), free_port());
        let url = format!("ldap://127.0.0.1:{port}");
        let ldaps_url = format!("ldaps://127.0.0.1:{tls_port}");
        // -d keeps slapd in the foreground, so the guard's kill ends it;
        // its log goes to a file for a failing test to show.
        let log = std::fs::File::create(root.join("slapd.log")).unwrap();
        let child = Command::new(&slapd)
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(format!("{url}/ {ldaps_url}/"))
            .args(["-d", "stats"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut child = ChildGuard(child);
        // Ready when a bind answers (ldap-utils' client, over plain LDAP
        // unless plain binds are refused, then over ldaps://).
        let (probe_url, ca) = match plain {
            Plain::Allowed => (url.clone(), None),
            Plain::BindsRefused => (ldaps_url.clone(), Some(pki.ca_file())),
        };
        wait_for(Duration::from_secs(20), "slapd to answer a bind", || {
            if let Ok(Some(status)) = child.0.try_wait() {
                panic!(
                    "slapd exited with {status}: {}",
                    std::fs::read_to_string(root.join("slapd.log")).unwrap_or_default()
                );
            }
            let mut cmd = Command::new(&whoami);
            cmd.args(["-x", "-H", &probe_url, "-D", ROOT_DN, "-w", ROOT_PASSWORD]);
            if let Some(ca) = &ca {
                cmd.env("LDAPTLS_CACERT", ca);
            }
            let ok = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then_some(())
        });
        Some(Slapd {
            url,
            ldaps_url,
            ca_file: pki.ca_file(),
            _child: child,
            _dir: dir,
        })
    }
}

fn slapd_conf(root: &Path, ca: &Path, cert: &Path, key: &Path, plain: Plain) -> String {
    let security = match plain {
        Plain::Allowed => "",
        Plain::BindsRefused => "security simple_bind=128\n",
    };
    format!(
        r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {root}/slapd.pid
argsfile {root}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
{security}
database mdb
maxsize 16777216
suffix "{BASE_DN}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {root}/db
access to attrs=userPassword
  by self =xw
  by anonymous auth
  by * none
access to *
  by dn.exact="{SERVICE_DN}" read
  by self read
  by * none
"#,
        root = root.display(),
        ca = ca.display(),
        cert = cert.display(),
        key = key.display(),
    )
}

fn person(uid: &str, cn: &str) -> String {
    let rdn = if uid == "dup" {
        format!("cn={cn}")
    } else {
        format!("uid={uid}")
    };
    format!(
        "dn: {rdn},{PEOPLE_DN}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\nsn: {cn}\nmail: {uid}@example.org\nuserPassword: {pw}\n\n",
        pw = password(uid)
    )
}

fn group(cn: &str, members: &[&str]) -> String {
    let mut s = format!("dn: cn={cn},{GROUPS_DN}\nobjectClass: groupOfNames\ncn: {cn}\n");
    for m in members {
        s.push_str(&format!("member: uid={m},{PEOPLE_DN}\n"));
    }
    s.push('\n');
    s
}

fn directory_ldif() -> String {
    let mut s = format!(
        "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example University\n\n"
    );
    for ou in ["people", "groups", "services"] {
        s.push_str(&format!(
            "dn: ou={ou},{BASE_DN}\nobjectClass: organizationalUnit\nou: {ou}\n\n"
        ));
    }
    s.push_str(&format!(
        "dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: belfry\nuserPassword: {SERVICE_PASSWORD}\n\n"
    ));
    s.push_str(&person("alice", "Alice Admin"));
    s.push_str(&person("bob", "Bob Editor"));
    s.push_str(&person("carol", "Carol Both"));
    s.push_str(&person("erin", "Erin Library"));
    s.push_str(&person("dup", "Dup One"));
    s.push_str(&person("dup", "Dup Two"));
    s.push_str(&group("it-staff", &["alice", "carol"]));
    s.push_str(&group("teaching-support", &["bob", "carol"]));
    s.push_str(&group("library", &["erin"]));
    s
}
