use super::*;
use serde_json::json;

#[test]
fn parses_every_frame_type() {
    assert_eq!(
        ClientFrame::parse(r#"{"type":"text","conversation_id":1,"content":"  Hello "}"#),
        Ok(ClientFrame::Text { conversation_id: 1, content: "Hello".into() })
    );
    assert_eq!(
        ClientFrame::parse(r#"{"conversation_id":"2","content":"no type means text"}"#),
        Ok(ClientFrame::Text { conversation_id: 2, content: "no type means text".into() })
    );
    assert_eq!(
        ClientFrame::parse(
            r#"{"type":"media","conversation_id":1,"file_url":"https://x/a.jpg","filename":"a.jpg","file_type":"image","caption":""}"#
        ),
        Ok(ClientFrame::Media {
            conversation_id: 1,
            file_url: "https://x/a.jpg".into(),
            filename: Some("a.jpg".into()),
            file_type: MessageType::Image,
            caption: String::new()
        })
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":"typing","conversation_id":1}"#),
        Ok(ClientFrame::Typing { conversation_id: 1, is_typing: false })
    );
    assert_eq!(ClientFrame::parse(r#"{"type":"ping"}"#), Ok(ClientFrame::Ping));
    assert_eq!(
        ClientFrame::parse(r#"{"type":"reopen-temporary","conversation_id":"7"}"#),
        Ok(ClientFrame::ReopenTemporary { conversation_id: 7 })
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":"close_conversation","conversation_id":3}"#),
        Ok(ClientFrame::Close { conversation_id: 3 })
    );
}

#[test]
fn exact_error_messages() {
    let cases = [
        ("not json", errors::INVALID_JSON),
        ("[1,2]", errors::INVALID_JSON),
        (r#"{"type":"dance"}"#, errors::INVALID_TYPE),
        (r#"{"type":5}"#, errors::INVALID_TYPE),
        (r#"{"type":"text","conversation_id":1,"content":"   "}"#, errors::EMPTY_CONTENT),
        (r#"{"type":"text","content":"hi"}"#, errors::CONVERSATION_REQUIRED),
        (r#"{"type":"text","conversation_id":0,"content":"hi"}"#, errors::CONVERSATION_REQUIRED),
        (r#"{"type":"text","conversation_id":"x","content":"hi"}"#, errors::CONVERSATION_REQUIRED),
        (r#"{"type":"typing"}"#, errors::CONVERSATION_REQUIRED),
        (r#"{"type":"reopen-temporary"}"#, errors::CONVERSATION_REQUIRED),
        (r#"{"type":"reopen_temporary","conversation_id":1}"#, errors::INVALID_TYPE),
        (r#"{"type":"media","conversation_id":1,"file_url":"u","file_type":"text"}"#, errors::INVALID_TYPE),
    ];
    for (input, expected) in cases {
        assert_eq!(ClientFrame::parse(input), Err(expected), "{input}");
    }
    let media = |field: &str, len: usize| {
        let mut frame = json!({"type":"media","conversation_id":1,"file_url":"https://x/a.jpg","file_type":"image"});
        frame[field] = json!("a".repeat(len));
        frame.to_string()
    };
    assert_eq!(ClientFrame::parse(&media("caption", 1025)), Err(errors::TOO_LONG));
    assert_eq!(ClientFrame::parse(&media("file_url", 2049)), Err(errors::TOO_LONG));
    assert_eq!(ClientFrame::parse(&media("filename", 256)), Err(errors::TOO_LONG));
    assert!(ClientFrame::parse(&media("caption", 1024)).is_ok());
    let long = format!(r#"{{"type":"text","conversation_id":1,"content":"{}"}}"#, "é".repeat(4097));
    assert_eq!(ClientFrame::parse(&long), Err(errors::TOO_LONG));
    let max = format!(r#"{{"type":"text","conversation_id":1,"content":"{}"}}"#, "é".repeat(4096));
    assert!(ClientFrame::parse(&max).is_ok());
}

#[test]
fn server_frames_serialise_as_the_contract_shows() {
    let frame = ServerFrame::ConversationUpdate {
        data: ConversationUpdate::Transferred {
            conversation_id: 1,
            from: Department::Reception,
            to: Department::RoomService,
        },
    };
    assert_eq!(
        serde_json::to_value(&frame).unwrap(),
        json!({"type":"conversation_update","data":{"type":"transferred","conversation_id":1,"from":"Reception","to":"Room Service"}})
    );
    assert_eq!(serde_json::to_value(ServerFrame::Pong).unwrap(), json!({"type":"pong"}));
    assert_eq!(
        serde_json::to_value(ServerFrame::error(errors::TOO_LONG)).unwrap(),
        json!({"type":"error","message":"Message too long"})
    );
    let status = ServerFrame::UserStatus {
        data: UserStatusData {
            change: PresenceChange::UserConnected,
            user_id: "12".into(),
            user_name: "Sam Staff".into(),
            department: Some(Department::Cafe),
        },
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({"type":"user_status","data":{"type":"user_connected","user_id":"12","user_name":"Sam Staff","department":"Café"}})
    );
    assert!(status.to_json().contains("Café"), "UTF-8, no \\u escapes");
    let ack = serde_json::to_value(ServerFrame::ack(AckStatus::MarkedRead, 4, None)).unwrap();
    assert_eq!(ack["status"], "marked_read");
    assert!(ack.get("message_id").is_none());
    let reopen = serde_json::to_value(ServerFrame::ack(AckStatus::ReopenButtonSent, 4, None)).unwrap();
    assert_eq!(reopen["status"], "reopen_button_sent");
    assert_eq!(reopen["conversation_id"], 4);
}
