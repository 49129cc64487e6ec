// `crate = ...`: hubmix reached through another crate's re-export, as a path and as a string;
// also a generic model (the impl requires `Self: Module`, whatever bounds Burn's derive added).
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};

mod reexport {
    pub use hubmix as hub;
}

use reexport::hub::{Device, HubModel};

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub width: usize,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            fc: LinearConfig::new(self.width, self.width).init(device),
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(crate = reexport::hub, config = MlpConfig)]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

#[derive(Config, Debug)]
pub struct WrapConfig {
    pub width: usize,
}

/// A layer that can be built from a width.
pub trait Layer: Module {
    fn make(width: usize, device: &Device) -> Self;
}

impl Layer for Linear {
    fn make(width: usize, device: &Device) -> Self {
        LinearConfig::new(width, 1).init(device)
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(crate = "crate::reexport::hub", config = WrapConfig, init_fn = Wrap::build)]
pub struct Wrap<M: Module + Layer> {
    inner: M,
    #[module(skip)]
    settings: WrapConfig,
}

impl<M: Module + Layer> Wrap<M> {
    fn build(config: &WrapConfig, device: &Device) -> Self {
        Wrap {
            inner: M::make(config.width, device),
            settings: config.clone(),
        }
    }
}

fn main() {
    let device = Device::default();
    let mlp = Mlp::hub_init(&MlpConfig::new(3), &device);
    assert_eq!(mlp.hub_config().width, 3);
    let wrap = Wrap::<Linear>::hub_init(&WrapConfig::new(5), &device);
    assert_eq!(wrap.hub_config().width, 5);
    assert_eq!(Wrap::<Linear>::hub_info().type_name, "Wrap");
}
