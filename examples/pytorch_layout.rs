//! A PyTorch-layout round trip: the weights are written as Python's `PyTorchModelHubMixin`
//! writes them (`Linear.weight` as `[out, in]`, norms as `weight`/`bias`), so that the same
//! checkpoint loads into the equivalent `torch.nn.Module`; hubmix reads it back by name.
//!
//! ```sh
//! cargo run --example pytorch_layout
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Distribution, Tensor};
use hubmix::{HubModel, Layout, LoadOptions, ModelHubMixin, PushOptions, SaveOptions};

#[derive(Config, Debug)]
pub struct NetConfig {
    pub d_in: usize,
    pub d_out: usize,
}

/// `#[hub(layout = "pytorch")]`: saved and read in PyTorch's layout.
#[derive(Module, Debug, HubModel)]
#[hub(config = NetConfig, layout = "pytorch", tags("pytorch-layout"))]
pub struct Net {
    proj: Linear,
    norm: LayerNorm,
    #[module(skip)]
    config: NetConfig,
}

impl NetConfig {
    pub fn init(&self, device: &Device) -> Net {
        Net {
            proj: LinearConfig::new(self.d_in, self.d_out).init(device),
            norm: LayerNormConfig::new(self.d_out).init(device),
            config: self.clone(),
        }
    }
}

impl Net {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.norm.forward(self.proj.forward(x))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hub = hubmix_examples::hub()?;
    let device = Device::flex();
    let model = NetConfig::new(8, 3).init(&device);

    let repo = format!("{}/pytorch-layout-net", hub.namespace);
    let options = PushOptions::default().client(hub.client.clone());
    let pushed = model.push_to_hub_with(&repo, &options, &SaveOptions::default().layout(Layout::PyTorch))?;
    println!("Pushed {repo} at {} in the PyTorch layout.", pushed.oid);

    let weights = hub
        .client
        .hub_download(repo.as_str(), "model.safetensors", &Default::default())?;
    println!("model.safetensors (as torch's load_state_dict expects):");
    for line in describe(&std::fs::read(&weights)?)? {
        println!("  {line}");
    }

    let loaded =
        Net::from_pretrained_with(&repo, &device, &LoadOptions::default().client(hub.client.clone()))?;
    let x = Tensor::<2>::random([5, 8], Distribution::Normal(0.0, 1.0), &device);
    model
        .forward(x.clone())
        .into_data()
        .assert_eq(&loaded.model.forward(x).into_data(), true);
    println!("Loaded back into the Burn model: outputs identical.");
    Ok(())
}

/// `name: dtype shape` of each tensor in a safetensors file.
fn describe(bytes: &[u8]) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    let header: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n])?;
    Ok(header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, v)| format!("{k}: {} {}", v["dtype"].as_str().unwrap_or("?"), v["shape"]))
        .collect())
}
