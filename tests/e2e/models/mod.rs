//! Burn models through hubmix (`#[derive(HubModel)]`), on Burn's `flex` CPU backend:
//!
//! - `roundtrip`: every architecture of `archs` through a folder, stored as f32, f16 and bf16,
//!   in one file and in shards; re-saving; config overrides.
//! - `hub`: the same through an in-process hub, with tags, commits and a pull request.
//! - `strict`: missing, unexpected and wrong-shaped tensors, strict and lenient.
//! - `bad_input`: damaged or mismatched checkpoints give typed errors, never a panic or abort.
//! - `card`: the model card is written once locally and merged, not overwritten, on push.
//! - `convert`: checkpoints saved by hubmix through `hubmix convert`'s converter: to PyTorch's
//!   layout and bf16 without the model (the plan the save records), and back.
//! - `foreign`: the checkpoint loader on hand-written foreign checkpoints: maps, lazy functions,
//!   shards fetched on need, hostile indexes.
//! - `hub_map`: the weight map and config keys of `#[hub(...)]` on a foreign checkpoint, and
//!   `LoadOptions::weight_map` replacing them.
//! - `mapped`: memory-mapped loads: the cached blob as the parameters, training that leaves it
//!   unchanged, truncated files as typed errors, a bf16 PyTorch-layout round trip.
//! - `pytorch`: interop with PyTorch's `PyTorchModelHubMixin`, both ways.
//! - `training`: the function API without the derive, and training checkpoints that resume.
//! - `trained`: a model saved or pushed straight after training (BatchNorm's pending running
//!   statistics) loads with the trained model's eval outputs, to the bit.
//! - `transformers`: transformers' own checkpoints into the Burn BERT and GPT-2 of the examples.

mod archs;
mod bad_input;
mod card;
mod convert;
mod foreign;
mod hub;
mod hub_map;
mod mapped;
mod pytorch;
mod roundtrip;
mod strict;
mod support;
mod trained;
mod training;
mod transformers;
