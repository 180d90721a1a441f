"""The seed's Iris program (seed 04), in plain Python: lists, dicts and math.exp.

Copied from the article with two changes that do not touch the arithmetic: it takes its rows and
random generator from :func:`deltaprop.recipes.seed_rows` (the same scaled, shuffled rows the
article's ``load_dataset`` makes), and it draws no plot. ``train`` returns the network and the
validation accuracy of every epoch, so the benchmarks can check that it reaches the same numbers.
"""
import math


def fun_z(weights, inputs):
    bias_term = weights[-1]
    z = 0
    for i in range(len(weights) - 1):
        z += weights[i] * inputs[i]
    z += bias_term
    return z


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def sigmoid_derivative(output):
    return output * (1.0 - output)


def forward_propagate(network, inputs):
    for layer in network:
        new_inputs = []
        for neuron in layer:
            z = fun_z(neuron['weights'], inputs)
            neuron['output'] = sigmoid(z)
            new_inputs.append(neuron['output'])
        inputs = new_inputs
    return inputs


def backward_propagate_error(network, actual_label):
    for i in reversed(range(len(network))):
        layer = network[i]
        errors = list()
        if i != len(network) - 1:
            for j in range(len(layer)):
                error = 0.0
                for neuron in network[i + 1]:
                    error += (neuron['weights'][j] * neuron['delta'])
                errors.append(error)
        else:
            for j in range(len(layer)):
                neuron = layer[j]
                errors.append(actual_label[j] - neuron['output'])
        for j in range(len(layer)):
            neuron = layer[j]
            neuron['delta'] = errors[j] * sigmoid_derivative(neuron['output'])


def update_parameters(network, row, l_rate):
    for i in range(len(network)):
        inputs = row[:-1]
        if i != 0:
            inputs = [neuron['output'] for neuron in network[i - 1]]
        for neuron in network[i]:
            for j in range(len(inputs)):
                neuron['weights'][j] += l_rate * neuron['delta'] * inputs[j]
            neuron['weights'][-1] += l_rate * neuron['delta']


def initialize_network(rnd, n_inputs, n_hidden, n_outputs):
    network = list()
    hidden_layer = [{'weights': [rnd.random() for i in range(n_inputs + 1)]} for i in range(n_hidden)]
    network.append(hidden_layer)
    output_layer = [{'weights': [rnd.random() for i in range(n_hidden + 1)]} for i in range(n_outputs)]
    network.append(output_layer)
    return network


def train(rnd, train_data, l_rate, epochs, n_hidden, val_data):
    n_inputs = len(train_data[0]) - 1
    n_outputs = len(set([row[-1] for row in train_data]))
    network = initialize_network(rnd, n_inputs, n_hidden, n_outputs)
    acc = []
    for epoch in range(epochs):
        for row in train_data:
            _ = forward_propagate(network, row)
            actual_label = [0 for i in range(n_outputs)]
            actual_label[row[-1]] = 1
            backward_propagate_error(network, actual_label)
            update_parameters(network, row, l_rate)
        acc.append(validation(network, val_data))
    return network, acc


def validation(network, val_data):
    predicted_label = []
    for row in val_data:
        prediction = predict(network, row)
        predicted_label.append(prediction)
    actual_label = [row[-1] for row in val_data]
    return accuracy_calculation(actual_label, predicted_label)


def accuracy_calculation(actual_label, predicted_label):
    correct_count = 0
    for i in range(len(actual_label)):
        if actual_label[i] == predicted_label[i]:
            correct_count += 1
    return correct_count / float(len(actual_label)) * 100.0


def predict(network, row):
    outputs = forward_propagate(network, row)
    return outputs.index(max(outputs))
