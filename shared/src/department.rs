//! Department names (CONTRACT §1.1): canonical spelling in every answer, matched
//! case-insensitively and accent-insensitively on input, `Restaurant` as an alias of `Café`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

/// A hotel department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Department {
    /// Front desk.
    Reception,
    /// Cleaning and rooms.
    Housekeeping,
    /// In-room dining.
    RoomService,
    /// Café and restaurant.
    Cafe,
    /// Hotel management.
    Management,
}

/// The name is not a department.
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

    /// The default department list of a hotel.
    pub fn default_list() -> Vec<Department> {
        Department::ALL.to_vec()
    }

    /// Canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Department::Reception => "Reception",
            Department::Housekeeping => "Housekeeping",
            Department::RoomService => "Room Service",
            Department::Cafe => "Café",
            Department::Management => "Management",
        }
    }

    /// ASCII slug used inside storage keys.
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
            ("HOUSEKEEPING", Department::Housekeeping),
            ("Room Service", Department::RoomService),
            ("room service", Department::RoomService),
            ("ROOM_SERVICE", Department::RoomService),
            ("room-service", Department::RoomService),
            ("Room  Service", Department::RoomService),
            ("Café", Department::Cafe),
            ("cafe", Department::Cafe),
            ("CAFE", Department::Cafe),
            ("CAFÉ", Department::Cafe),
            ("Cafe\u{301}", Department::Cafe),
            ("Restaurant", Department::Cafe),
            ("management", Department::Management),
        ];
        for (raw, expected) in cases {
            assert_eq!(Department::parse(raw), Ok(expected), "{raw:?}");
        }
    }

    #[test]
    fn unknown_names() {
        for raw in ["", "Spa", "Receptions", "room", "caffe"] {
            assert_eq!(Department::parse(raw), Err(UnknownDepartment), "{raw:?}");
        }
        let listed: Vec<&str> = Department::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(UnknownDepartment.to_string(), format!("Invalid department. Valid options: {}", listed.join(", ")));
    }

    #[test]
    fn serde_uses_the_canonical_spelling() {
        assert_eq!(serde_json::to_string(&Department::Cafe).unwrap(), "\"Café\"");
        assert_eq!(serde_json::from_str::<Department>("\"room service\"").unwrap(), Department::RoomService);
        assert!(serde_json::from_str::<Department>("\"Spa\"").is_err());
        assert_eq!(Department::RoomService.key(), "room_service");
    }
}
