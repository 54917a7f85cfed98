//! Hotel departments (docs/api.md §2).
//!
//! Department names arrive from people and programs in many spellings (`cafe`, `CAFÉ`,
//! `room_service`, the Django version's `Restaurant`), and a department with a space or an accent
//! in its name must work everywhere: routing, sockets, lists and storage keys. This module is the
//! one place that turns any accepted spelling into a [`Department`], answers always use its
//! canonical spelling ([`Department::as_str`]), and storage keys use an ASCII slug
//! ([`Department::key`]) so no key ever depends on Unicode normalisation.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

/// A hotel department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Department {
    /// Front desk (`Reception`), the default department of a new guest message.
    Reception,
    /// Cleaning and rooms (`Housekeeping`).
    Housekeeping,
    /// In-room dining (`Room Service`).
    RoomService,
    /// Café and restaurant (`Café`; `Restaurant` is accepted as an alias).
    Cafe,
    /// Hotel management (`Management`).
    Management,
}

/// The name is not a department: the 400 message, listing the valid names.
///
/// The list is written out so the message can be a `const`; a test checks it matches
/// [`Department::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid department. Valid options: Reception, Housekeeping, Room Service, Café, Management")]
pub struct UnknownDepartment;

impl Department {
    /// Every department, in the contract's order (also a hotel's default list).
    pub const ALL: [Department; 5] = [
        Department::Reception,
        Department::Housekeeping,
        Department::RoomService,
        Department::Cafe,
        Department::Management,
    ];

    /// The default department list of a hotel: [`Department::ALL`].
    pub fn default_list() -> Vec<Department> {
        Department::ALL.to_vec()
    }

    /// Canonical spelling, used in every answer: `Reception`, `Housekeeping`, `Room Service`,
    /// `Café`, `Management`.
    pub fn as_str(self) -> &'static str {
        match self {
            Department::Reception => "Reception",
            Department::Housekeeping => "Housekeeping",
            Department::RoomService => "Room Service",
            Department::Cafe => "Café",
            Department::Management => "Management",
        }
    }

    /// ASCII slug used inside storage keys: `reception`, `housekeeping`, `room_service`, `cafe`,
    /// `management`. Never shown to clients.
    pub fn key(self) -> &'static str {
        match self {
            Department::Reception => "reception",
            Department::Housekeeping => "housekeeping",
            Department::RoomService => "room_service",
            Department::Cafe => "cafe",
            Department::Management => "management",
        }
    }

    /// Parses any accepted spelling.
    ///
    /// Surrounding whitespace is ignored; matching is case-insensitive and accent-insensitive
    /// (NFD, combining marks dropped); inside the name, runs of whitespace, `_` and `-` count as
    /// one space, and `roomservice` (no separator) is accepted too. `Restaurant` is an alias of
    /// [`Department::Cafe`].
    pub fn parse(raw: &str) -> Result<Department, UnknownDepartment> {
        let folded: String = raw
            .nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .flat_map(char::to_lowercase)
            .map(|c| if c == '_' || c == '-' { ' ' } else { c })
            .collect();
        let folded = folded.split_whitespace().collect::<Vec<_>>().join(" ");
        match folded.as_str() {
            "reception" => Ok(Department::Reception),
            "housekeeping" => Ok(Department::Housekeeping),
            "room service" | "roomservice" => Ok(Department::RoomService),
            "cafe" | "restaurant" => Ok(Department::Cafe),
            "management" => Ok(Department::Management),
            _ => Err(UnknownDepartment),
        }
    }
}

impl std::fmt::Display for Department {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Department {
    type Err = UnknownDepartment;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Department::parse(s)
    }
}

impl Serialize for Department {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Department {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Department::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling() {
        let cases = [
            ("Reception", Department::Reception),
            ("  reception ", Department::Reception),
            ("RECEPTION", Department::Reception),
            ("Housekeeping", Department::Housekeeping),
            ("HOUSEKEEPING", Department::Housekeeping),
            ("Room Service", Department::RoomService),
            ("room service", Department::RoomService),
            ("ROOM_SERVICE", Department::RoomService),
            ("room_service", Department::RoomService),
            ("room-service", Department::RoomService),
            ("Room  Service", Department::RoomService),
            ("Room\tService", Department::RoomService),
            ("Room _- Service", Department::RoomService),
            ("roomservice", Department::RoomService),
            ("Café", Department::Cafe),
            ("café", Department::Cafe),
            ("cafe", Department::Cafe),
            ("CAFE", Department::Cafe),
            ("CAFÉ", Department::Cafe),
            ("Cafe\u{301}", Department::Cafe),
            ("Restaurant", Department::Cafe),
            ("restaurant", Department::Cafe),
            ("Management", Department::Management),
            ("management", Department::Management),
        ];
        for (raw, expected) in cases {
            assert_eq!(Department::parse(raw), Ok(expected), "{raw:?}");
            assert_eq!(raw.parse::<Department>(), Ok(expected), "{raw:?}");
        }
    }

    #[test]
    fn canonical_names_and_keys_round_trip() {
        let names: Vec<&str> = Department::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(names, ["Reception", "Housekeeping", "Room Service", "Café", "Management"]);
        let keys: Vec<&str> = Department::ALL.iter().map(|d| d.key()).collect();
        assert_eq!(keys, ["reception", "housekeeping", "room_service", "cafe", "management"]);
        for d in Department::ALL {
            assert_eq!(Department::parse(d.as_str()), Ok(d));
            assert_eq!(Department::parse(d.key()), Ok(d));
            assert_eq!(d.to_string(), d.as_str());
            assert!(d.key().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert_eq!(Department::default_list(), Department::ALL.to_vec());
    }

    #[test]
    fn unknown_names() {
        for raw in ["", "   ", "Spa", "Receptions", "room", "service", "caffe", "cafés", "room service desk", "r"] {
            assert_eq!(Department::parse(raw), Err(UnknownDepartment), "{raw:?}");
        }
    }

    #[test]
    fn error_message_lists_every_department() {
        let listed: Vec<&str> = Department::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(UnknownDepartment.to_string(), format!("Invalid department. Valid options: {}", listed.join(", ")));
    }

    #[test]
    fn serde_uses_the_canonical_spelling() {
        assert_eq!(serde_json::to_string(&Department::Cafe).unwrap(), "\"Café\"");
        assert_eq!(serde_json::to_string(&Department::RoomService).unwrap(), "\"Room Service\"");
        assert_eq!(serde_json::from_str::<Department>("\"room service\"").unwrap(), Department::RoomService);
        assert_eq!(serde_json::from_str::<Department>("\"RESTAURANT\"").unwrap(), Department::Cafe);
        let err = serde_json::from_str::<Department>("\"Spa\"").unwrap_err();
        assert!(err.to_string().contains(&UnknownDepartment.to_string()), "{err}");
        assert!(serde_json::from_str::<Department>("3").is_err());
    }
}
