"""The CNN baselines of data06: ResNet50 and VGG16 on one-channel tiles, eight species out."""

import numpy as np
import pytest
import torch

from util.evaluation.classifiers import (
    CNNConfig,
    build_classifier,
    find_weights,
    fit_and_predict,
    pixel_areas,
    positive_weights,
    predict_presence,
    prepare_images,
    presence_from_class_maps,
    train_classifier,
    train_step,
)


@pytest.fixture(scope="module", params=["resnet50", "vgg16"])
def arch(request):
    return request.param


def tiny_batch(n=4, size=32, seed=0):
    rng = np.random.default_rng(seed)
    images = prepare_images(rng.integers(0, 256, (n, 256, 256), dtype=np.uint8), size)
    targets = torch.from_numpy(rng.random((n, 8)) < 0.4)
    return images, targets


def test_cnn_takes_one_channel_and_gives_eight_logits(arch):
    model = build_classifier(arch, n_classes=8).eval()
    images, _ = tiny_batch(2)
    with torch.no_grad():
        assert model(images).shape == (2, 8)
    first = model.conv1 if arch == "resnet50" else model.features[0]
    assert first.in_channels == 1


def test_one_training_step_lowers_the_loss_on_a_tiny_batch(arch):
    torch.manual_seed(0)
    model = build_classifier(arch, n_classes=8)
    images, targets = tiny_batch(4)
    # a step large enough to show on a network from scratch (VGG16 without batch norm overshoots at 1e-3)
    optimizer = torch.optim.Adam(model.parameters(), lr={"resnet50": 1e-3, "vgg16": 1e-4}[arch])

    def loss_now():
        torch.manual_seed(1)  # the same dropout masks for both measurements
        model.train()
        with torch.no_grad():
            return torch.nn.functional.binary_cross_entropy_with_logits(model(images), targets.float()).item()

    before = loss_now()
    train_step(model, optimizer, images, targets)
    assert loss_now() < before


def test_missing_weights_folder_gives_one_clear_line_and_training_from_scratch(tmp_path):
    weights, message = find_weights(["resnet50", "vgg16"], str(tmp_path / "nowhere"))
    assert weights == {"resnet50": None, "vgg16": None}
    assert "\n" not in message and "no such folder" in message and "from scratch" in message


def test_folder_without_one_file_names_it_and_the_network_trains_from_scratch(tmp_path):
    (tmp_path / "resnet50-0676ba61.pth").write_bytes(b"")
    weights, message = find_weights(["resnet50", "vgg16"], str(tmp_path))
    assert weights["resnet50"].endswith("resnet50-0676ba61.pth") and weights["vgg16"] is None
    assert "\n" not in message and "vgg16-*.pth" in message and "VGG16 train from scratch" in message


def test_imagenet_start_sums_the_rgb_kernels_into_the_one_channel_kernel(tmp_path):
    import torchvision

    rgb = torchvision.models.resnet50(weights=None)
    path = tmp_path / "resnet50-test.pth"
    torch.save(rgb.state_dict(), path)
    found, message = find_weights(["resnet50"], str(tmp_path))
    assert message is None and found["resnet50"] == str(path)
    grey = build_classifier("resnet50", 8, found["resnet50"])
    assert torch.allclose(grey.conv1.weight, rgb.conv1.weight.sum(dim=1, keepdim=True))
    assert torch.equal(grey.layer4[0].conv1.weight, rgb.layer4[0].conv1.weight)


def test_a_species_is_present_from_min_pixels_of_its_class():
    maps = np.zeros((2, 32, 32), np.uint8)
    maps[0, 0, :19] = 3          # 19 pixels of class 3: absent at 20
    maps[1, :2, :10] = 8         # 20 pixels of class 8: present
    assert pixel_areas(maps, 8)[:, [2, 7]].tolist() == [[19, 0], [0, 20]]
    present = presence_from_class_maps(maps, 8, min_pixels=20)
    assert present.shape == (2, 8) and present.sum() == 1 and present[1, 7]


def test_tiles_are_area_downsampled_for_the_cnns_only():
    pixels = np.zeros((1, 256, 256), np.uint8)
    pixels[0, :128] = 255        # top half white
    images = prepare_images(pixels, 64)
    assert images.shape == (1, 1, 64, 64)
    assert torch.allclose(images[0, 0, :32], images[0, 0, 0, 0]) and images[0, 0, 0, 0] > images[0, 0, -1, 0]


def test_training_a_few_steps_fits_a_tiny_set_and_predicts_booleans():
    images, targets = tiny_batch(4, size=32, seed=3)
    model = build_classifier("resnet50", 8)
    log = train_classifier(model, images, targets.numpy(), CNNConfig(epochs=3, batch_size=4, lr=1e-3), progress=False)
    assert len(log.epoch_losses) == 3 and log.epoch_losses[-1] < log.epoch_losses[0]
    present = predict_presence(model, images)
    assert present.shape == (4, 8) and present.dtype == bool


def test_fit_and_predict_is_repeatable_whatever_the_random_state_before_it():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.random((6, 1, 32, 32), dtype=np.float32))
    targets = rng.random((6, 8)) > 0.5
    config = CNNConfig(epochs=1, batch_size=3, seed=4)
    results = []
    for noise in (1, 2):
        torch.manual_seed(noise)  # other work that drew random numbers before job06's CNNs
        torch.rand(noise * 10)
        result = fit_and_predict("resnet50", images, targets, {"val": images[:2], "test": images}, config,
                                 progress=False)
        results.append(result.log.epoch_losses)
    assert results[0] == results[1]
    assert result.probabilities["val"].shape == (2, 8) and result.probabilities["test"].shape == (6, 8)
    assert np.all((result.probabilities["test"] >= 0) & (result.probabilities["test"] <= 1))
    np.testing.assert_allclose(result.pos_weight, positive_weights(targets))


def test_rare_species_weigh_as_much_as_their_absences_in_the_loss():
    targets = np.zeros((10, 3), bool)
    targets[:1, 0] = True           # 1 present, 9 absent -> 9
    targets[:5, 1] = True           # 5 / 5 -> 1
    np.testing.assert_allclose(positive_weights(targets), [9.0, 1.0, 1.0])   # never present: 1
    assert positive_weights(np.eye(200, 2, dtype=bool))[0] == 100.0           # 199 / 1, capped
