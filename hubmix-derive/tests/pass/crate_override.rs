// `crate = ...`: hubmix reached through another crate's re-export, as a path and as a string;
// also a tuple struct (`config_field = 1`) and a generic model.
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};

mod reexport {
    pub use hubmix as hub;
}

use reexport::hub::{Device, HubModel};

#[derive(Config, Debug)]
pub struct PairConfig {
    pub width: usize,
}

impl PairConfig {
    pub fn init(&self, device: &Device) -> Pair {
        Pair(LinearConfig::new(self.width, self.width).init(device), self.clone())
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(crate = reexport::hub, config = PairConfig, config_field = 1)]
pub struct Pair(Linear, #[module(skip)] PairConfig);

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
        Wrap { inner: M::make(config.width, device), settings: config.clone() }
    }
}

fn main() {
    let device = Device::default();
    let pair = Pair::hub_init(&PairConfig::new(3), &device);
    assert_eq!(pair.hub_config().width, 3);
    let wrap = Wrap::<Linear>::hub_init(&WrapConfig::new(5), &device);
    assert_eq!(wrap.hub_config().width, 5);
    assert_eq!(Wrap::<Linear>::hub_info().type_name, "Wrap");
}
