//! hubmix: share Burn models through the Hugging Face Hub.
