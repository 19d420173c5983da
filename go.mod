module github.com/emnify-mock/emnify-mock

go 1.26

require (
	github.com/brianvoe/gofakeit/v7 v7.18.2
	gopkg.in/yaml.v3 v3.0.1
)

require github.com/gorilla/mux v1.8.1 // indirect
