//! The store port's conformance suite (`lobbybee::store::conformance`) against `DynamoStore` on
//! the emulator: the same cases `MemoryStore` passes in the core crate's unit tests, so the two
//! implementations answer alike.

use aws_sdk_dynamodb::types::AttributeValue;
use lobbybee::model::ConversationId;
use lobbybee::store::conformance::Subject;
use lobbybee::store::{ChatStore, DynamoStore, keys};
use lobbybee_e2e::{run, stack};

/// A `DynamoStore` on this binary's table.
struct OnDynamo {
    store: DynamoStore,
}

#[async_trait::async_trait]
impl Subject for OnDynamo {
    fn store(&self) -> &dyn ChatStore {
        &self.store
    }

    async fn expire_conversation(&self, id: ConversationId) {
        self.store
            .client()
            .delete_item()
            .table_name(self.store.table())
            .key("pk", AttributeValue::S(keys::conversation(id)))
            .key("sk", AttributeValue::S(keys::PROFILE.to_owned()))
            .send()
            .await
            .expect("delete the conversation item");
    }
}

/// The store over the stack's table (created by the harness), without retention (the cases
/// store messages dated in the past).
async fn on_dynamo() -> OnDynamo {
    let table = stack().await.resources.table_name.clone();
    let sdk = lobbybee::app::sdk_defaults().load().await;
    OnDynamo { store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table) }
}

/// Runs every case of the conformance suite on the emulator.
macro_rules! on_dynamodb {
    ($($module:ident :: $case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            run(async { lobbybee::store::conformance::$module::$case(&on_dynamo().await).await });
        }
    )*};
}

lobbybee::store_conformance_cases!(on_dynamodb);
