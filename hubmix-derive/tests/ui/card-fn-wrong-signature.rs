use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::card::ModelCard;
use hubmix::{Device, HubModel};

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp { fc: burn::nn::LinearConfig::new(self.d_in, 1).init(device), config: self.clone() }
    }
}

// `card_fn` takes `(&Self, &ModelCard)` and returns the body: the type error points at the path.
#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, card_fn = Mlp::card_body)]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

impl Mlp {
    fn card_body(&self, _card: &ModelCard) -> &'static str {
        "# Mlp"
    }
}

fn main() {}
