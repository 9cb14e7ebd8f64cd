//! Who is at the other end of the control socket, and what their Unix groups let them do.
//!
//! The kernel tells who connected (`SO_PEERCRED`: uid and gid of the connecting process); the
//! user database tells the rest (name, supplementary groups). Roles come from `[ctl]
//! technicians` and `administrators`; root and the daemon's own user are administrators.

use std::ffi::CString;

use nix::unistd::{Gid, Group, Uid, User};

use crate::config::CtlConfig;
use crate::store::Actor;
use coopnoc_proto::Role;

/// A connected user, as the daemon judges them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    /// The user's name, when the user database knows the uid.
    pub name: Option<String>,
    /// `None`: neither a technician nor an administrator.
    pub role: Option<Role>,
}

impl Peer {
    /// Looks the user up (name, groups: the user database, which may block) and decides the
    /// role. `gid` is the connecting process's own group, counted with the user's groups.
    pub fn identify(uid: u32, gid: u32, ctl: &CtlConfig) -> Peer {
        let user = User::from_uid(Uid::from_raw(uid)).ok().flatten();
        let mut gids = vec![gid];
        if let Some(u) = &user
            && let Ok(name) = CString::new(u.name.as_bytes())
            && let Ok(list) = nix::unistd::getgrouplist(&name, u.gid)
        {
            gids.extend(list.iter().map(|g| g.as_raw()));
        }
        let role = decide(uid, &gids, ctl, |name| {
            Group::from_name(name).ok().flatten().map(|g| g.gid)
        });
        Peer {
            uid,
            name: user.map(|u| u.name),
            role,
        }
    }

    /// "uid 1001, alice" (or "uid 1001" for a uid without a name).
    pub fn describe(&self) -> String {
        match &self.name {
            Some(n) => format!("uid {}, {n}", self.uid),
            None => format!("uid {}", self.uid),
        }
    }

    /// How the audit log names them.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| format!("uid {}", self.uid)),
            uid: Some(self.uid),
        }
    }

    /// Why a request is refused, or `None` when the peer may send it.
    pub fn refusal(&self, command: &str, needs: Role, ctl: &CtlConfig) -> Option<String> {
        match self.role {
            Some(has) if has >= needs => None,
            Some(has) => Some(format!(
                "`{command}` needs the {} role: you ({}) are a {}. {}",
                needs.as_str(),
                self.describe(),
                has.as_str(),
                how_to_become(needs, ctl)
            )),
            None => Some(self.no_role(ctl)),
        }
    }

    /// The answer to a user with no role at all, naming the roles and their groups.
    pub fn no_role(&self, ctl: &CtlConfig) -> String {
        format!(
            "permission denied: you ({}) are neither a technician nor an administrator of \
             coopnocd. {} {}",
            self.describe(),
            how_to_become(Role::Technician, ctl),
            how_to_become(Role::Administrator, ctl)
        )
    }
}

/// "Administrators are the members of the group coopnoc-admin (and root)."
fn how_to_become(role: Role, ctl: &CtlConfig) -> String {
    let groups = match role {
        Role::Technician => &ctl.technicians,
        Role::Administrator => &ctl.administrators,
    };
    let who = match groups.as_slice() {
        [] => "no group ([ctl] gives the role to none)".to_string(),
        [one] => format!("the members of the group {one}"),
        many => format!("the members of the groups {}", many.join(", ")),
    };
    match role {
        Role::Technician => format!("Technicians are {who}."),
        Role::Administrator => {
            format!("Administrators are {who} (and root and the daemon's own user).")
        }
    }
}

/// The role of a uid with these groups: root and the daemon's own user are administrators;
/// then the administrators' groups, then the technicians'. `gid_of` resolves a group name.
fn decide(
    uid: u32,
    gids: &[u32],
    ctl: &CtlConfig,
    gid_of: impl Fn(&str) -> Option<Gid>,
) -> Option<Role> {
    let member_of_any = |names: &[String]| {
        names
            .iter()
            .filter_map(|n| gid_of(n))
            .any(|g| gids.contains(&g.as_raw()))
    };
    if uid == 0 || uid == nix::unistd::geteuid().as_raw() || member_of_any(&ctl.administrators) {
        Some(Role::Administrator)
    } else if member_of_any(&ctl.technicians) {
        Some(Role::Technician)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ctl() -> CtlConfig {
        CtlConfig {
            socket: "/run/coopnoc/ctl.sock".into(),
            mode: 0o666,
            technicians: vec!["tech".into(), "noc".into()],
            administrators: vec!["admin".into()],
            max_connections: 8,
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }

    fn gid_of(name: &str) -> Option<Gid> {
        match name {
            "tech" => Some(Gid::from_raw(2001)),
            "noc" => Some(Gid::from_raw(2002)),
            "admin" => Some(Gid::from_raw(2003)),
            _ => None,
        }
    }

    /// A uid that is neither root nor the user running the tests.
    fn someone() -> u32 {
        let me = nix::unistd::geteuid().as_raw();
        if me == 4242 { 4243 } else { 4242 }
    }

    #[test]
    fn roles_come_from_groups_root_and_the_daemon_user() {
        let c = ctl();
        let u = someone();
        assert_eq!(decide(u, &[100], &c, gid_of), None);
        assert_eq!(decide(u, &[100, 2002], &c, gid_of), Some(Role::Technician));
        assert_eq!(
            decide(u, &[2001, 2003], &c, gid_of),
            Some(Role::Administrator)
        );
        assert_eq!(decide(0, &[0], &c, gid_of), Some(Role::Administrator));
        let me = nix::unistd::geteuid().as_raw();
        assert_eq!(decide(me, &[], &c, gid_of), Some(Role::Administrator));
        // A group named in the config that does not exist gives nothing.
        let mut c = ctl();
        c.technicians = vec!["nowhere".into()];
        assert_eq!(decide(u, &[2001], &c, gid_of), None);
    }

    #[test]
    fn refusals_name_the_role_the_user_and_the_groups() {
        let c = ctl();
        let tech = Peer {
            uid: 1001,
            name: Some("alice".into()),
            role: Some(Role::Technician),
        };
        assert_eq!(tech.refusal("coopnoc lines", Role::Technician, &c), None);
        let refused = tech
            .refusal("coopnoc member add", Role::Administrator, &c)
            .expect("refused");
        assert!(
            refused.starts_with(
                "`coopnoc member add` needs the administrator role: you (uid 1001, alice) are a technician."
            ),
            "{refused}"
        );
        assert!(refused.contains("the group admin"), "{refused}");
        let nobody = Peer {
            uid: 1002,
            name: None,
            role: None,
        };
        let refused = nobody
            .refusal("coopnoc lines", Role::Technician, &c)
            .expect("refused");
        assert!(refused.contains("you (uid 1002)"), "{refused}");
        assert!(refused.contains("the groups tech, noc"), "{refused}");
        assert!(refused.contains("the group admin"), "{refused}");
        assert_eq!(nobody.actor().name, "uid 1002");
        assert_eq!(tech.actor().uid, Some(1001));
    }
}
