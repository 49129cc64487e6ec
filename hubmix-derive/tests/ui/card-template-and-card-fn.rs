use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;
use hubmix::card::ModelCard;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, card_template = "card.md", card_fn = Mlp::card_body)]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

impl Mlp {
    fn card_body(&self, card: &ModelCard) -> String {
        format!("# {}", card.title)
    }
}

fn main() {}
