//! Round trips through an in-process hub: push, tag, push again, then load by tag, by branch,
//! by commit id and from a pull request; pushes that change the sharding.

use std::collections::BTreeSet;

use hubmix::{
    Device, DownloadOptions, Error, HubError, LoadOptions, Loaded, ModelHubMixin, PushOptions, SaveOptions,
    StorageType,
};
use hubmix_e2e::TestHub;

use super::archs::{Arch, Cnn, Head, Mlp, Stack, Tagger};
use super::support::{assert_same_model, client, rounded};

/// Loads `source` (`repo`, `repo@rev`) from the hub through `options`.
fn load<M: Arch>(source: &str, device: &Device, options: &LoadOptions) -> Loaded<M> {
    let loaded = M::from_pretrained_with(source, device, options)
        .unwrap_or_else(|e| panic!("from_pretrained({source}): {e}"));
    assert!(loaded.report.is_clean(), "{source}: {}", loaded.report);
    loaded
}

/// Pushes three random models of type `M` to `repo` (stored as `save` says): the first is
/// tagged `v1`, the second goes to `main`, the third is a pull request. Each loads back from
/// the revision it went to, and the loads report the commit they read.
fn revisions<M: Arch>(hub: &TestHub, repo: &str, save: SaveOptions, device: &Device) {
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(hub, cache.path());
    let push = PushOptions::default().client(client.clone());
    let load_options = LoadOptions::default().client(client.clone());
    let dtype = save.dtype.unwrap_or(StorageType::F32);
    let [v1, v2, proposed] = [M::random(device), M::random(device), M::random(device)];

    let first = v1.push_to_hub_with(repo, &push, &save).expect("first push");
    client.create_tag(repo, "v1", None, false).expect("tag v1");
    let second = v2.push_to_hub_with(repo, &push, &save).expect("second push");
    assert_ne!(first.oid, second.oid);

    let tagged = load::<M>(&format!("{repo}@v1"), device, &load_options);
    assert_same_model(&rounded(v1.clone(), dtype), &tagged.model, M::output, "repo@v1");
    assert_eq!(tagged.commit.as_deref(), Some(first.oid.as_str()));
    let latest = load::<M>(repo, device, &load_options);
    assert_same_model(
        &rounded(v2.clone(), dtype),
        &latest.model,
        M::output,
        "repo (main)",
    );
    assert_eq!(latest.commit.as_deref(), Some(second.oid.as_str()));
    let by_commit = load::<M>(&format!("{repo}@{}", first.oid), device, &load_options);
    assert_same_model(
        &rounded(v1.clone(), dtype),
        &by_commit.model,
        M::output,
        "repo@<first commit>",
    );
    assert_eq!(by_commit.commit.as_deref(), Some(first.oid.as_str()));
    let at_v1 = load_options
        .clone()
        .download(DownloadOptions::default().revision("v1"));
    let by_option = load::<M>(repo, device, &at_v1);
    assert_same_model(
        &rounded(v1.clone(), dtype),
        &by_option.model,
        M::output,
        "revision(\"v1\")",
    );
    // The revision in the source and in the options: the same is fine, different is an error.
    let both = load::<M>(&format!("{repo}@v1"), device, &at_v1);
    assert_same_model(
        &rounded(v1, dtype),
        &both.model,
        M::output,
        "repo@v1 and revision(\"v1\")",
    );
    match M::from_pretrained_with(&format!("{repo}@main"), device, &at_v1) {
        Err(Error::Hub(HubError::InvalidArgument { name, .. })) if name == "revision" => {}
        Err(other) => panic!("repo@main with revision(\"v1\"): {other}"),
        Ok(_) => panic!("repo@main with revision(\"v1\") loaded a model"),
    }

    let pr = proposed
        .push_to_hub_with(repo, &push.clone().create_pr(true), &save)
        .expect("push as a pull request");
    assert_eq!(pr.pr_num, Some(1));
    let pr_revision = pr.pr_revision().expect("a PR revision");
    let from_pr = load::<M>(&format!("{repo}@{pr_revision}"), device, &load_options);
    assert_same_model(
        &rounded(proposed, dtype),
        &from_pr.model,
        M::output,
        "repo@refs/pr/1",
    );
    assert_eq!(from_pr.commit.as_deref(), Some(pr.oid.as_str()));
    let still = load::<M>(repo, device, &load_options);
    assert_same_model(&rounded(v2, dtype), &still.model, M::output, "main after the PR");
}

#[test]
fn every_architecture_through_the_hub_with_tags_commits_and_a_pr() {
    let hub = TestHub::start();
    let device = Device::flex();
    revisions::<Mlp>(&hub, "alice/mlp", SaveOptions::default(), &device);
    revisions::<Cnn>(
        &hub,
        "alice/cnn",
        SaveOptions::default()
            .dtype(StorageType::BF16)
            .max_shard_size(256),
        &device,
    );
    revisions::<Tagger>(
        &hub,
        "alice/tagger",
        SaveOptions::default().dtype(StorageType::F16),
        &device,
    );
    revisions::<Stack>(
        &hub,
        "alice/stack",
        SaveOptions::default().max_shard_size(128),
        &device,
    );
    revisions::<Head>(&hub, "team/head", SaveOptions::default(), &device);
}

#[test]
fn a_push_replaces_the_weight_files_of_an_earlier_push() {
    let hub = TestHub::start();
    let device = Device::flex();
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(&hub, cache.path());
    let push = PushOptions::default().client(client.clone());
    let load_options = LoadOptions::default().client(client.clone());
    let repo = "alice/reshard";
    let files = || -> BTreeSet<String> {
        client
            .list_repo_files(repo)
            .expect("list files")
            .into_iter()
            .filter(|f| f.starts_with("model"))
            .collect()
    };

    let sharded = Stack::random(&device);
    sharded
        .push_to_hub_with(repo, &push, &SaveOptions::default().max_shard_size(128))
        .expect("a sharded push");
    assert!(files().contains("model.safetensors.index.json"), "{:?}", files());

    let single = Stack::random(&device);
    single.push_to_hub(repo, &push).expect("a single-file push");
    assert_eq!(files(), BTreeSet::from(["model.safetensors".to_owned()]));
    let loaded = load::<Stack>(repo, &device, &load_options);
    assert_same_model(&single, &loaded.model, Stack::output, "after a single-file push");

    let resharded = Stack::random(&device);
    resharded
        .push_to_hub_with(repo, &push, &SaveOptions::default().max_shard_size(256))
        .expect("a sharded push");
    let shards = files();
    assert!(!shards.contains("model.safetensors"), "{shards:?}");
    let loaded = load::<Stack>(repo, &device, &load_options);
    assert_same_model(&resharded, &loaded.model, Stack::output, "after sharding again");

    // A push that uploads no weights (allow patterns) deletes none.
    let config_only = PushOptions::default()
        .client(client.clone())
        .allow(["config.json", "README.md"]);
    Stack::random(&device)
        .push_to_hub(repo, &config_only)
        .expect("a config-only push");
    assert_eq!(files(), shards);
    let loaded = load::<Stack>(repo, &device, &load_options);
    assert_same_model(
        &resharded,
        &loaded.model,
        Stack::output,
        "after a config-only push",
    );
}

#[test]
fn a_push_names_its_branch_once() {
    let hub = TestHub::start();
    let device = Device::flex();
    let cache = tempfile::tempdir().expect("temp dir");
    let client = client(&hub, cache.path());
    let push = PushOptions::default().client(client.clone());
    let model = Mlp::random(&device);

    // `repo@dev` and branch("main"): refused before anything is created.
    let err = model
        .push_to_hub("alice/branches@dev", &push.clone().branch("main"))
        .expect_err("two different branches");
    assert!(
        matches!(&err, Error::Hub(HubError::InvalidArgument { name, .. }) if name == "revision"),
        "{err}"
    );
    assert!(
        matches!(
            client.repo_info("alice/branches"),
            Err(HubError::RepoNotFound { .. })
        ),
        "nothing was pushed, not even the repository"
    );

    // The branch in the id, or in the options, or in both when they agree.
    let in_id = model.push_to_hub("alice/branches@dev", &push).expect("repo@dev");
    let in_both = model
        .push_to_hub("alice/branches@dev", &push.clone().branch("dev"))
        .expect("repo@dev and branch(\"dev\")");
    assert_eq!(in_both.oid, in_id.oid, "nothing changed: no new commit");
    let in_options = Mlp::random(&device)
        .push_to_hub("alice/branches", &push.clone().branch("dev"))
        .expect("branch(\"dev\")");
    let load_options = LoadOptions::default().client(client.clone());
    let loaded = load::<Mlp>("alice/branches@dev", &device, &load_options);
    assert_eq!(loaded.commit.as_deref(), Some(in_options.oid.as_str()));
}
